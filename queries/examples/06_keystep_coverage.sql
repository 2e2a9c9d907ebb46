-- How much of a take its keysteps cover
-- For takes with keystep annotations: what share of the task (task_start_sec to
-- task_end_sec, else the whole take) is covered by keystep segments, per scenario?
WITH per_take AS (
    SELECT
        t.scenario,
        t.take_uid,
        sum(k.end_time - k.start_time)
            / coalesce(t.task_end_sec - t.task_start_sec, t.duration_sec) AS covered
    FROM takes AS t
    JOIN keystep_segments AS k USING (take_uid)
    GROUP BY t.scenario, t.take_uid, t.task_start_sec, t.task_end_sec, t.duration_sec
)
SELECT
    scenario,
    count(*) AS takes,
    round(100 * min(covered), 1) AS min_pct,
    round(100 * median(covered), 1) AS median_pct,
    round(100 * max(covered), 1) AS max_pct
FROM per_take
GROUP BY scenario
ORDER BY scenario;
