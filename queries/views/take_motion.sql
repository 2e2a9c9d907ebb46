-- One row per take with a trajectory or eye gaze file: how the wearer moved and looked,
-- from the per-file figures (trajectory_files, every sample) and the 100 ms bins
-- (coverage: the share of the take's seconds, from 0 to duration_sec, holding at least
-- one sample; the 100 ms bins are too fine for the 10 Hz eye gaze).
CREATE OR REPLACE VIEW take_motion AS
WITH
traj_bins AS (
    SELECT b.take_uid, count(DISTINCT b.bin // 10) AS seconds
    FROM motion_bins AS b
    JOIN takes AS t USING (take_uid)
    WHERE b.bin >= 0 AND b.bin < ceil(t.duration_sec) * 10
    GROUP BY b.take_uid
),
gaze AS (
    SELECT take_uid,
           sum(n_rows) FILTER (WHERE kind = 'general') AS n_gaze_samples,
           bool_or(kind = 'personalized') AS has_personalized_gaze
    FROM eye_gaze_files
    GROUP BY take_uid
),
gaze_bins_in AS (
    SELECT g.take_uid, count(DISTINCT g.bin // 10) AS seconds
    FROM gaze_bins AS g
    JOIN takes AS t USING (take_uid)
    WHERE g.kind = 'general' AND g.bin >= 0 AND g.bin < ceil(t.duration_sec) * 10
    GROUP BY g.take_uid
)
SELECT
    t.take_uid,
    f.n_rows AS n_trajectory_samples,
    f.path_length_m,
    f.net_displacement_m,
    f.max_speed_mps,
    f.path_length_m / nullif(f.last_take_sec - f.first_take_sec, 0) AS mean_speed_mps,
    f.height_max_m - f.height_min_m AS height_range_m,
    f.height_min_m,
    f.height_max_m,
    f.area_m2,
    f.head_turn_rad,
    least(1.0, coalesce(tb.seconds, 0) / nullif(ceil(t.duration_sec), 0)) AS trajectory_coverage,
    f.mean_quality AS trajectory_mean_quality,
    f.min_quality AS trajectory_min_quality,
    f.n_sync_gaps,
    CAST(coalesce(gaze.n_gaze_samples, 0) AS BIGINT) AS n_gaze_samples,
    least(1.0, coalesce(gb.seconds, 0) / nullif(ceil(t.duration_sec), 0)) AS gaze_coverage,
    coalesce(gaze.has_personalized_gaze, false) AS has_personalized_gaze
FROM takes AS t
LEFT JOIN trajectory_files AS f USING (take_uid)
LEFT JOIN traj_bins AS tb USING (take_uid)
LEFT JOIN gaze USING (take_uid)
LEFT JOIN gaze_bins_in AS gb USING (take_uid)
WHERE f.take_uid IS NOT NULL OR gaze.take_uid IS NOT NULL
ORDER BY t.take_uid;
