-- Takes that annotations/splits.json does not place in a split (checked only when
-- splits.json gave a split to some take).
SELECT take_uid, take_name, scenario
FROM takes
WHERE split IS NULL
  AND EXISTS (SELECT 1 FROM takes WHERE split IS NOT NULL)
ORDER BY take_uid;
