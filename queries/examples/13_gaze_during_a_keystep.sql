-- Where the wearer looked during a keystep
-- Where was the wearer looking during this keystep (the longest keystep of a Cooking take
-- with eye gaze), second by second: gaze direction left/right and up/down in degrees, how
-- far away, and how scattered?
WITH step AS (
    SELECT k.take_uid, k.step_name, k.start_time, k.end_time
    FROM keystep_segments AS k
    JOIN take_summary AS t USING (take_uid)
    WHERE t.scenario = 'Cooking' AND t.has_eye_gaze
    ORDER BY k.end_time - k.start_time DESC, k.take_uid, k.segment_idx
    LIMIT 1
)
SELECT
    s.step_name,
    CAST(floor(g.take_sec) AS INTEGER) AS second,
    count(*) AS samples,
    round(degrees(avg(g.yaw)), 1) AS yaw_deg,
    round(degrees(avg(g.pitch)), 1) AS pitch_deg,
    round(median(g.depth_m), 2) AS depth_m,
    -- the angular spread: sqrt(-2 ln R), R the length of the mean unit direction
    round(degrees(sqrt(-2 * ln(least(1.0, sqrt(avg(g.gaze_x) ^ 2 + avg(g.gaze_y) ^ 2 + avg(g.gaze_z) ^ 2))))), 1)
        AS spread_deg
FROM step AS s
JOIN eye_gaze AS g
  ON g.take_uid = s.take_uid AND g.kind = 'general' AND g.take_sec BETWEEN s.start_time AND s.end_time
GROUP BY ALL
ORDER BY second;
