-- Head turns in each step of a recipe
-- How far did the head turn in each step of the recipe (the Cooking take with the most
-- keysteps and a trajectory): degrees turned, degrees per second, metres walked and the
-- gaze's spread?
WITH take AS (
    SELECT k.take_uid
    FROM keystep_context AS k
    JOIN takes AS t USING (take_uid)
    WHERE t.scenario = 'Cooking' AND k.head_turn_rad IS NOT NULL
    GROUP BY k.take_uid
    ORDER BY count(*) DESC, k.take_uid
    LIMIT 1
)
SELECT
    k.segment_idx,
    k.step_name,
    round(k.end_time - k.start_time, 1) AS seconds,
    round(degrees(k.head_turn_rad)) AS head_turn_deg,
    round(degrees(k.head_turn_rad) / (k.end_time - k.start_time), 1) AS deg_per_sec,
    round(k.path_length_m, 2) AS walked_m,
    round(degrees(k.gaze_dispersion_rad), 1) AS gaze_spread_deg
FROM keystep_context AS k
JOIN take USING (take_uid)
ORDER BY k.segment_idx;
