-- Annotation coverage per university
-- For each recording institution: how many takes, and what share of them has keystep
-- segments, atomic descriptions, expert commentary and a proficiency label?
SELECT
    university,
    count(*) AS takes,
    round(100 * avg(has_keystep::INTEGER), 0) AS keystep_pct,
    round(100 * avg(has_atomic::INTEGER), 0) AS atomic_pct,
    round(100 * avg(has_commentary::INTEGER), 0) AS commentary_pct,
    round(100 * avg(has_proficiency::INTEGER), 0) AS proficiency_pct
FROM take_summary
GROUP BY university
ORDER BY takes DESC, university;
