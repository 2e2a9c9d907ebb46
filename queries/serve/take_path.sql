-- One take's trajectory seen from above for the take page (egoexo-sql serve): the mean
-- position of each $step consecutive 100 ms bins of motion_bins (so a long take is at
-- most a few thousand points), in time order. x and y are the MPS world frame's
-- horizontal axes (z is up, gravity along -z), in metres.
SELECT
    min(bin) / 10.0 AS take_sec,
    sum(x * n) / sum(n) AS x,
    sum(y * n) / sum(n) AS y
FROM motion_bins
WHERE take_uid = $take_uid
GROUP BY bin // $step
ORDER BY take_sec;
