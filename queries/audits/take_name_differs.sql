-- Annotation files that name a take_uid with another take name than takes.json: a
-- sign of files from a different release (or a reused uid).
SELECT r.source_file, r.take_uid, r.take_name AS file_take_name, t.take_name
FROM take_references AS r
JOIN takes AS t USING (take_uid)
WHERE r.take_name IS NOT NULL AND r.take_name <> t.take_name
ORDER BY r.source_file, r.take_uid;
