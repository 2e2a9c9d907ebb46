-- Proficiency demonstrator records whose scenario or task disagrees with takes.json
-- for the same take.
SELECT p.take_uid, p.split, p.scenario, t.scenario AS take_scenario, p.task_id,
       t.task_id AS take_task_id
FROM proficiency_demonstrator AS p
JOIN takes AS t USING (take_uid)
WHERE p.scenario IS DISTINCT FROM t.scenario
   OR (p.task_id IS NOT NULL AND t.task_id IS NOT NULL AND p.task_id <> t.task_id)
ORDER BY p.take_uid, p.split;
