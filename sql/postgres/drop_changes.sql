DROP TABLE IF EXISTS {{schema}}.changes_{{gen}};
