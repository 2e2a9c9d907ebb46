-- One take's semi-dense points (MPS semidense_points.csv.gz, or the older
-- global_points.csv.gz), read from the release folder on demand: point clouds are never
-- compiled into the catalog. $path is the file; $max_inv_dist_std and $max_dist_std
-- (NULL: no limit) keep the confident points (MPS suggests 0.005 and 0.01).
-- In a plain DuckDB shell, put the file's path in place of $path.
SELECT uid, graph_uid, px_world, py_world, pz_world, inv_dist_std, dist_std
FROM read_csv(
    $path,
    header = true,
    auto_detect = false,
    compression = 'gzip',
    columns = {
        'uid': 'BIGINT', 'graph_uid': 'VARCHAR', 'px_world': 'DOUBLE', 'py_world': 'DOUBLE',
        'pz_world': 'DOUBLE', 'inv_dist_std': 'DOUBLE', 'dist_std': 'DOUBLE'
    }
)
WHERE ($max_inv_dist_std IS NULL OR inv_dist_std <= $max_inv_dist_std)
  AND ($max_dist_std IS NULL OR dist_std <= $max_dist_std)
ORDER BY uid
