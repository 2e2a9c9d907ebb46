-- The documents of the search index: one row per text, from the compiled tables
-- (registered under their catalog names, each with a _row ordinal giving its order).
-- n orders the documents: source first, then the source table's order.
-- egoexo_sql/tables/search_index.py: documents_sql() runs this (index.sql then reads it);
-- documents() makes the same rows in Arrow for the build, and the tests compare the two.
SELECT src_rank * 1000000000000 + _row AS n, source, take_uid, time, end_time, text, ref
FROM (
    SELECT 'atomic' AS source, 1 AS src_rank, _row, take_uid, "timestamp" AS time,
           CAST(NULL AS DOUBLE) AS end_time, text,
           annotation_uid || '/' || description_idx AS ref
    FROM atomic_descriptions
    WHERE rejected IS DISTINCT FROM true
    UNION ALL
    SELECT 'commentary', 2, _row, take_uid, video_time, NULL, text,
           commentary_id || '/' || recording_idx
    FROM expert_commentary
    UNION ALL
    SELECT 'narration', 3, _row, take_uid, start_time, end_time, text,
           take_name || '/' || cam_id || '/' || segment_idx
    FROM narrations
    UNION ALL
    SELECT 'keystep', 4, _row, take_uid, start_time, end_time,
           concat_ws(' — ', step_name, step_description), CAST(segment_idx AS VARCHAR)
    FROM keystep_segments
    UNION ALL
    SELECT 'demonstration', 5, _row, take_uid, video_time, NULL,
           array_to_string(comments, ' '), split || '/' || kind || '/' || point_idx
    FROM proficiency_demonstration
)
WHERE text IS NOT NULL
