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
rating AS (
    SELECT take_uid, avg(rating) AS mean_rating
    FROM expert_ratings
    WHERE take_uid IS NOT NULL
    GROUP BY take_uid
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
    rating.mean_rating AS mean_expert_rating
FROM takes AS t
LEFT JOIN exo USING (take_uid)
LEFT JOIN bench USING (take_uid)
LEFT JOIN demonstrator USING (take_uid)
LEFT JOIN demonstration USING (take_uid)
LEFT JOIN keystep USING (take_uid)
LEFT JOIN atomic USING (take_uid)
LEFT JOIN commentary USING (take_uid)
LEFT JOIN rating USING (take_uid)
ORDER BY t.take_uid;
