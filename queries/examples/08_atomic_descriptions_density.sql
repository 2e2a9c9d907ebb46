-- Atomic descriptions per minute
-- How densely do atomic descriptions narrate each scenario, and how many descriptions
-- belong to rejected annotations?
WITH per_take AS (
    SELECT
        take_uid,
        count(*) FILTER (WHERE rejected IS DISTINCT FROM true) AS kept,
        count(*) FILTER (WHERE rejected) AS rejected
    FROM atomic_descriptions
    GROUP BY take_uid
)
SELECT
    t.scenario,
    count(*) AS takes,
    sum(p.kept) AS descriptions,
    sum(p.rejected) AS rejected,
    round(sum(p.kept) / (sum(t.duration_sec) / 60), 1) AS per_minute
FROM per_take AS p
JOIN takes AS t USING (take_uid)
GROUP BY t.scenario
ORDER BY t.scenario;
