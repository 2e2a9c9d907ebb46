-- Orphans per annotation file
-- Which annotation files name takes that takes.json does not have, and how many?
SELECT
    source_file,
    reason,
    count(*) AS takes
FROM orphans
GROUP BY source_file, reason
ORDER BY source_file, reason;
