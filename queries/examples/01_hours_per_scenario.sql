-- Hours per scenario and split
-- How much video does each scenario have in train, val and test: takes, hours and the
-- mean take length?
SELECT
    scenario,
    split,
    count(*) AS takes,
    round(sum(duration_sec) / 3600, 2) AS hours,
    round(avg(duration_sec) / 60, 1) AS mean_minutes
FROM takes
GROUP BY scenario, split
ORDER BY scenario, split;
