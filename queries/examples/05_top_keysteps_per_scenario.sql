-- The most frequent keysteps of each scenario
-- Which three steps occur most often in each scenario's keystep segments, and how long
-- do they last?
SELECT
    t.scenario,
    k.step_name,
    count(*) AS segments,
    round(median(k.end_time - k.start_time), 1) AS median_seconds
FROM keystep_segments AS k
JOIN takes AS t USING (take_uid)
GROUP BY t.scenario, k.step_name
QUALIFY row_number() OVER (PARTITION BY t.scenario ORDER BY count(*) DESC, k.step_name) <= 3
ORDER BY t.scenario, segments DESC, k.step_name;
