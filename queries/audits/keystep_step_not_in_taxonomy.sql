-- Keystep segments whose step_id is not a node of their scenario's taxonomy
-- (keystep_taxonomy, keyed by the keystep file's scenario and node id).
SELECT s.take_uid, s.segment_idx, s.scenario, s.step_id, s.step_name
FROM keystep_segments AS s
WHERE s.step_id IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM keystep_taxonomy AS x
      WHERE x.scenario = s.scenario AND x.node_id = s.step_id
  )
ORDER BY s.take_uid, s.segment_idx;
