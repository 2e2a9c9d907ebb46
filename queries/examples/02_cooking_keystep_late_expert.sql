-- Cooking takes in train with keystep annotations and a Late Expert rating
-- Which Cooking takes in the train split have keystep segments and a participant whose
-- demonstrator proficiency is Late Expert? (`egoexo-sql takes --scenario Cooking --split
-- train --has keystep --proficiency "Late Expert"` selects the same takes.)
SELECT
    take_name,
    take_uid,
    task_name,
    n_keystep_segments,
    round(duration_sec / 60, 1) AS minutes
FROM take_summary
WHERE scenario = 'Cooking'
  AND split = 'train'
  AND has_keystep
  AND proficiency_score = 'Late Expert'
ORDER BY take_name;
