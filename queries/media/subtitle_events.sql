-- The time-stamped texts of one take that become subtitles, in cue order: per source,
-- by start, end and text. Parameters: $take_uid, $sources (VARCHAR[]).
SELECT source, start_time, end_time, text
FROM take_timeline
WHERE take_uid = $take_uid AND source IN (SELECT unnest($sources::VARCHAR[]))
  AND start_time IS NOT NULL AND text IS NOT NULL AND trim(text) <> ''
ORDER BY source, start_time, end_time NULLS FIRST, text
