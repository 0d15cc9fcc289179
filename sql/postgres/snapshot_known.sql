-- Which of the file contents $1 (SHA-256 digests) are stored already.
SELECT digest FROM {{schema}}.snapshot_blobs WHERE digest = ANY($1);
