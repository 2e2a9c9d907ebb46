-- Atomic description annotations of test-split takes (splits.json) filed in a train
-- or val file. The published counts imply the real release does this (see README),
-- so it is reported, not blocking: atomic_descriptions.split follows the file name.
SELECT a.take_uid, a.annotation_uid, a.split AS file_split, t.split AS take_split,
       count(*) AS descriptions
FROM atomic_descriptions AS a
JOIN takes AS t USING (take_uid)
WHERE t.split = 'test' AND a.split <> 'test'
GROUP BY ALL
ORDER BY a.take_uid, a.annotation_uid;
