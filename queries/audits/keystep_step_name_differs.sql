-- Keystep segments whose step_name is not the vocabulary's name for their
-- step_unique_id.
SELECT s.take_uid, s.segment_idx, s.step_unique_id, s.step_name, v.step_name AS vocabulary_name
FROM keystep_segments AS s
JOIN keystep_vocabulary AS v USING (step_unique_id)
WHERE s.step_name IS DISTINCT FROM v.step_name
ORDER BY s.take_uid, s.segment_idx;
