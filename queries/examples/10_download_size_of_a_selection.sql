-- Download size of a selection
-- How many files and gigabytes would the downloader fetch, per part, for the Cooking
-- takes in train (manifest entries whose uid is one of the selected take_uids)?
SELECT
    m.part,
    count(DISTINCT m.uid) AS takes,
    count(*) AS files,
    round(sum(m.size_bytes) / 1e9, 2) AS gigabytes
FROM manifest_files AS m
JOIN takes AS t ON t.take_uid = m.uid
WHERE t.scenario = 'Cooking' AND t.split = 'train'
GROUP BY m.part
ORDER BY gigabytes DESC, m.part;
