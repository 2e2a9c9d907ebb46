-- One row per take: every takes column, then what the annotation tables say about it.
-- Counts are 0 (not NULL) when a take has no rows in a table, including when that
-- table's files were not part of the release.
CREATE OR REPLACE VIEW take_summary AS
WITH
exo AS (
    SELECT take_uid, count(DISTINCT cam_id) AS n_exo_cams
    FROM take_videos
    WHERE is_ego = false
    GROUP BY take_uid
),
bench AS (
    SELECT take_uid, list(benchmark ORDER BY benchmark) AS benchmarks
    FROM take_benchmarks
    GROUP BY take_uid
),
demonstrator AS (
    SELECT take_uid,
           first(proficiency_score ORDER BY split) AS proficiency_score,
           first(proficiency_rank ORDER BY split) AS proficiency_rank
    FROM proficiency_demonstrator
    GROUP BY take_uid
),
demonstration AS (
    SELECT DISTINCT take_uid FROM proficiency_demonstration
),
keystep AS (
    SELECT take_uid, count(*) AS n
    FROM keystep_segments
    GROUP BY take_uid
),
atomic AS (
    SELECT take_uid, count(*) AS n
    FROM atomic_descriptions
    WHERE rejected IS DISTINCT FROM true
    GROUP BY take_uid
),
commentary AS (
    SELECT take_uid, count(DISTINCT commentary_id) AS n
    FROM expert_commentary
    GROUP BY take_uid
),
narration AS (
    SELECT take_uid, count(*) AS n
    FROM narrations
    GROUP BY take_uid
),
rating AS (
    SELECT take_uid, avg(rating) AS mean_rating
    FROM expert_ratings
    WHERE take_uid IS NOT NULL
    GROUP BY take_uid
),
pose AS (  -- one row per pose file, so this does not scan ego_pose_3d
    SELECT take_uid,
           bool_or(kind = 'body' AND source = 'annotation') AS body_manual,
           bool_or(kind = 'body' AND source = 'automatic') AS body_automatic,
           bool_or(kind = 'hand' AND source = 'annotation') AS hand_manual,
           bool_or(kind = 'hand' AND source = 'automatic') AS hand_automatic
    FROM ego_pose_takes
    WHERE n_joints_3d + n_joints_2d > 0
    GROUP BY take_uid
),
relations AS (
    SELECT DISTINCT take_uid FROM relations_objects WHERE n_masks > 0
),
keystep_benchmark AS (
    SELECT DISTINCT take_uid FROM keystep_benchmark_segments
),
relations_boxes AS (
    SELECT DISTINCT take_uid FROM relations_boxes
)
SELECT
    t.*,
    coalesce(exo.n_exo_cams, 0) AS n_exo_cams,
    coalesce(bench.benchmarks, CAST([] AS VARCHAR[])) AS benchmarks,
    demonstrator.proficiency_score,
    demonstrator.proficiency_rank,
    (demonstrator.take_uid IS NOT NULL OR demonstration.take_uid IS NOT NULL) AS has_proficiency,
    coalesce(keystep.n, 0) > 0 AS has_keystep,
    coalesce(keystep.n, 0) AS n_keystep_segments,
    coalesce(atomic.n, 0) > 0 AS has_atomic,
    coalesce(atomic.n, 0) AS n_atomic_descriptions,
    coalesce(commentary.n, 0) > 0 AS has_commentary,
    coalesce(commentary.n, 0) AS n_expert_commentaries,
    coalesce(narration.n, 0) AS n_narration_segments,
    rating.mean_rating AS mean_expert_rating,
    coalesce(pose.body_manual OR pose.body_automatic, false) AS has_body_pose,
    coalesce(pose.body_manual, false) AS has_body_pose_manual,
    coalesce(pose.body_automatic, false) AS has_body_pose_automatic,
    coalesce(pose.hand_manual OR pose.hand_automatic, false) AS has_hand_pose,
    coalesce(pose.hand_manual, false) AS has_hand_pose_manual,
    coalesce(pose.hand_automatic, false) AS has_hand_pose_automatic,
    relations.take_uid IS NOT NULL AS has_relations,
    keystep_benchmark.take_uid IS NOT NULL AS has_keystep_benchmark,
    relations_boxes.take_uid IS NOT NULL AS has_relations_boxes,
    coalesce(motion.n_trajectory_samples, 0) > 0 AS has_trajectory,
    coalesce(motion.n_gaze_samples, 0) > 0 AS has_eye_gaze,
    motion.path_length_m,
    motion.net_displacement_m,
    motion.max_speed_mps,
    motion.height_range_m,
    motion.area_m2,
    motion.trajectory_coverage,
    motion.gaze_coverage
FROM takes AS t
LEFT JOIN exo USING (take_uid)
LEFT JOIN bench USING (take_uid)
LEFT JOIN demonstrator USING (take_uid)
LEFT JOIN demonstration USING (take_uid)
LEFT JOIN keystep USING (take_uid)
LEFT JOIN atomic USING (take_uid)
LEFT JOIN commentary USING (take_uid)
LEFT JOIN narration USING (take_uid)
LEFT JOIN rating USING (take_uid)
LEFT JOIN pose USING (take_uid)
LEFT JOIN relations USING (take_uid)
LEFT JOIN keystep_benchmark USING (take_uid)
LEFT JOIN relations_boxes USING (take_uid)
LEFT JOIN take_motion AS motion USING (take_uid)
ORDER BY t.take_uid;
