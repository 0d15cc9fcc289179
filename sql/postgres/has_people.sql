-- Whether generation {{gen}} has a people table: generations published before
-- digests existed do not, and are compared row by row.
SELECT to_regclass('{{schema}}.people_{{gen}}') IS NOT NULL;
