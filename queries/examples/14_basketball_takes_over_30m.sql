-- Takes that cover ground
-- Which Basketball takes move more than 30 m: how far the wearer walked, how far from the
-- start they ended, the floor area covered and the mean speed?
SELECT
    take_name,
    round(duration_sec) AS seconds,
    round(path_length_m, 1) AS path_m,
    round(net_displacement_m, 1) AS net_m,
    round(area_m2, 1) AS area_m2,
    round(path_length_m / duration_sec, 2) AS mean_speed_mps,
    round(trajectory_coverage, 2) AS coverage
FROM take_summary
WHERE scenario = 'Basketball' AND path_length_m > 30
ORDER BY path_length_m DESC, take_name;
