INSERT INTO {{schema}}.snapshot_files (generation, path, digest) VALUES ($1, $2, $3);
