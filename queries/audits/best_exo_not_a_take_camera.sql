-- Takes whose best_exo is not one of the take's frame-aligned exo cameras.
SELECT t.take_uid, t.take_name, t.best_exo
FROM takes AS t
WHERE t.best_exo IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM take_videos AS v
      WHERE v.take_uid = t.take_uid AND v.cam_id = t.best_exo
  )
ORDER BY t.take_uid;
