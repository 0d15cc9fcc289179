-- Records that generation {{gen}}, the first, became current at $1: its rows are
-- present in access_history from then on, read from access_rows, until a
-- publish or rollback removes them (history_materialize.sql). Nothing is
-- written per row. The one-row index refuses a second baseline.
INSERT INTO {{schema}}.history_baseline (generation, at) VALUES ({{gen}}, $1);
