-- Annotation rows whose take_uid is not in takes.json: one row per file and take
-- (take_references says which file names which take).
CREATE OR REPLACE VIEW orphans AS
SELECT
    r.source_file,
    r.take_uid,
    r.take_name,
    CASE WHEN r.take_uid IS NULL
         THEN 'take_name is in neither the commentary files nor takes.json'
         ELSE 'take_uid not in takes.json' END AS reason
FROM take_references AS r
WHERE NOT EXISTS (SELECT 1 FROM takes AS t WHERE t.take_uid = r.take_uid)
ORDER BY r.source_file, r.take_uid;
