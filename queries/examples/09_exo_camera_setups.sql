-- Exo camera setups
-- How many exo cameras do takes have in each scenario, and which camera is most often
-- the best exo view (ties go to the first camera id)?
WITH counted AS (
    SELECT
        scenario,
        n_exo_cams,
        best_exo,
        count(*) AS n,
        sum(count(*)) OVER (PARTITION BY scenario, n_exo_cams) AS takes
    FROM take_summary
    GROUP BY scenario, n_exo_cams, best_exo
)
SELECT
    scenario,
    n_exo_cams,
    takes,
    best_exo AS usual_best_exo,
    n AS as_best_exo
FROM counted
QUALIFY row_number() OVER (PARTITION BY scenario, n_exo_cams ORDER BY n DESC, best_exo) = 1
ORDER BY scenario, n_exo_cams;
