-- Every time-stamped annotation of a take on one time axis (seconds from the take's
-- start): keystep segments and keystep benchmark segments (intervals), atomic
-- descriptions of annotations not rejected, expert commentary recordings and the
-- demonstrators' expert comment points (moments), and transcript segments (intervals).
-- ref is the key of the source row as a JSON object, enough to join back (to_json of a
-- struct: the same text on Spark, see egoexo-sql export-views).
CREATE OR REPLACE VIEW take_timeline AS
SELECT take_uid, 'keystep' AS source, start_time, end_time,
       step_name AS text,
       to_json(struct_pack("table" := 'keystep_segments', "segment_idx" := segment_idx)) AS ref
FROM keystep_segments
UNION ALL
SELECT take_uid, 'keystep_benchmark', start_time, end_time, step_name,
       to_json(struct_pack("table" := 'keystep_benchmark_segments', "split" := split, "segment_idx" := segment_idx))
FROM keystep_benchmark_segments
UNION ALL
SELECT take_uid, 'atomic', "timestamp", NULL, text,
       to_json(struct_pack("table" := 'atomic_descriptions', "annotation_uid" := annotation_uid, "description_idx" := description_idx))
FROM atomic_descriptions
WHERE rejected IS DISTINCT FROM true
UNION ALL
SELECT take_uid, 'commentary', video_time, NULL, text,
       to_json(struct_pack("table" := 'expert_commentary', "commentary_id" := commentary_id, "recording_idx" := recording_idx))
FROM expert_commentary
WHERE take_uid IS NOT NULL
UNION ALL
SELECT take_uid, 'narration', start_time, end_time, text,
       to_json(struct_pack("table" := 'narrations', "cam_id" := cam_id, "segment_idx" := segment_idx))
FROM narrations
UNION ALL
SELECT take_uid, 'demonstration', video_time, NULL, array_to_string(comments, ' '),
       to_json(struct_pack("table" := 'proficiency_demonstration', "split" := split, "kind" := kind, "point_idx" := point_idx))
FROM proficiency_demonstration
ORDER BY take_uid, start_time, source;
