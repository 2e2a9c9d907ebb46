-- Demonstrator proficiency vs expert rating
-- Do the experts' 1-10 ratings (expert commentary data.json) agree with the demonstrator
-- proficiency level of the same take?
SELECT
    s.proficiency_rank,
    s.proficiency_score,
    count(*) AS takes,
    round(avg(r.rating), 2) AS mean_rating,
    min(r.rating) AS min_rating,
    max(r.rating) AS max_rating
FROM take_summary AS s
JOIN expert_ratings AS r USING (take_uid)
WHERE s.proficiency_score IS NOT NULL
GROUP BY s.proficiency_rank, s.proficiency_score
ORDER BY s.proficiency_rank;
