-- Annotation rows whose take_uid is not in takes.json: one row per file and take.
-- source_file is rebuilt from the table's split (annotation file names are
-- <family>_<split>.json) or, for expert ratings, from the data.json folder.
CREATE OR REPLACE VIEW orphans AS
WITH annotation_rows AS (
    SELECT 'annotations/splits.json' AS source_file, take_uid, NULL AS take_name
    FROM take_benchmarks
    UNION ALL
    SELECT 'annotations/keystep_' || split || '.json', take_uid, take_name
    FROM keystep_segments
    UNION ALL
    SELECT 'annotations/proficiency_demonstrator_' || split || '.json', take_uid, take_name
    FROM proficiency_demonstrator
    UNION ALL
    SELECT 'annotations/proficiency_demonstration_' || split || '.json', take_uid, video_name
    FROM proficiency_demonstration
    UNION ALL
    SELECT 'annotations/atomic_descriptions_' || split || '.json', take_uid, NULL
    FROM atomic_descriptions
    UNION ALL
    SELECT 'annotations/expert_commentary_' || split || '.json', take_uid, take_name
    FROM expert_commentary
    UNION ALL
    SELECT 'annotations/expert_commentary/' || take_name || '/' || expert_uid || '/data.json',
           take_uid, take_name
    FROM expert_ratings
)
SELECT
    r.source_file,
    r.take_uid,
    max(r.take_name) AS take_name,
    CASE WHEN r.take_uid IS NULL
         THEN 'take_name is in neither the commentary files nor takes.json'
         ELSE 'take_uid not in takes.json' END AS reason
FROM annotation_rows AS r
WHERE NOT EXISTS (SELECT 1 FROM takes AS t WHERE t.take_uid = r.take_uid)
GROUP BY r.source_file, r.take_uid
ORDER BY r.source_file, r.take_uid;
