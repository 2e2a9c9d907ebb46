-- Participants per scenario
-- How many distinct camera wearers does each scenario have, and how many takes does a
-- participant record on average?
SELECT
    t.scenario,
    count(DISTINCT t.participant_uid) AS participants,
    count(*) AS takes,
    round(count(*) / count(DISTINCT t.participant_uid), 1) AS takes_per_participant,
    count(DISTINCT t.university) AS universities
FROM takes AS t
GROUP BY t.scenario
ORDER BY participants DESC, t.scenario;
