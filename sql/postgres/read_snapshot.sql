SELECT path, content FROM {{schema}}.snapshot_files WHERE generation = $1 ORDER BY path;
