-- Which annotation file names which take: one row per file and take_uid, with the
-- number of catalog rows it gave. source_file is rebuilt from the table's split
-- (annotation file names are <family>_<split>.json), from the data.json folder for
-- expert ratings, and is the folder (ending in /) for the per-take ego pose files.
-- The orphans view and the per-file reconciliation (egoexo-sql validate) read it.
CREATE OR REPLACE VIEW take_references AS
WITH annotation_rows AS (
    SELECT 'annotations/splits.json' AS source_file, take_uid, NULL AS take_name
    FROM take_benchmarks
    UNION ALL
    SELECT 'annotations/keystep_' || split || '.json', take_uid, take_name
    FROM keystep_segments
    UNION ALL
    SELECT 'annotations/keystep_benchmark/keystep_segment_' || split
           || CASE WHEN split = 'test' THEN '_unannotated' ELSE '' END || '.json', take_uid, take_name
    FROM keystep_benchmark_segments
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
    UNION ALL
    SELECT 'annotations/relations_' || split || '.json', take_uid, take_name
    FROM relations_objects
    UNION ALL
    SELECT 'annotations/relations_' || split || '.json', take_uid, NULL
    FROM relations_boxes
    UNION ALL
    SELECT 'annotations/ego_pose/' || split || '/' || kind || '/' || source || '/', take_uid, NULL
    FROM ego_pose_takes
    UNION ALL
    SELECT 'annotations/ego_pose/' || split || '/camera_pose/', take_uid, NULL
    FROM camera_poses
)
SELECT
    source_file,
    take_uid,
    max(take_name) AS take_name,
    count(*) AS n_rows
FROM annotation_rows
GROUP BY source_file, take_uid
ORDER BY source_file, take_uid;
