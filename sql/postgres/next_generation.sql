SELECT coalesce(max(number), 0) + 1 FROM {{schema}}.generations;
