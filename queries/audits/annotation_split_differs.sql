-- Annotations filed under another split than splits.json gives their take, for the
-- keystep, proficiency, expert commentary, relations and ego pose files (atomic
-- descriptions have their own audit). One row per table, take and file split.
WITH filed AS (
    SELECT DISTINCT 'keystep_segments' AS tbl, take_uid, split FROM keystep_segments
    UNION ALL
    SELECT DISTINCT 'proficiency_demonstrator', take_uid, split FROM proficiency_demonstrator
    UNION ALL
    SELECT DISTINCT 'proficiency_demonstration', take_uid, split FROM proficiency_demonstration
    UNION ALL
    SELECT DISTINCT 'expert_commentary', take_uid, split FROM expert_commentary
    UNION ALL
    SELECT DISTINCT 'relations_objects', take_uid, split FROM relations_objects
    UNION ALL
    SELECT DISTINCT 'ego_pose_takes', take_uid, split FROM ego_pose_takes
)
SELECT f.tbl AS "table", f.take_uid, f.split AS file_split, t.split AS take_split
FROM filed AS f
JOIN takes AS t USING (take_uid)
WHERE t.split IS NOT NULL AND f.split <> t.split
ORDER BY 1, 2;
