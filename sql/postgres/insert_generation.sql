INSERT INTO {{schema}}.generations
    (number, published_at, snapshot_at, rows, added, removed, mode, accounts, meta, excluded)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);
