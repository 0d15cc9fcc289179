-- Removes generation {{gen}}, complete or half-loaded. The caller never drops the
-- current generation (and the foreign key of current would refuse to).
DELETE FROM {{schema}}.generations WHERE number = {{gen}};
DELETE FROM {{schema}}.snapshot_files WHERE generation = {{gen}};
DROP TABLE IF EXISTS
    {{schema}}.access_{{gen}},
    {{schema}}.memberships_{{gen}},
    {{schema}}.grants_{{gen}},
    {{schema}}.masked_{{gen}},
    {{schema}}.people_{{gen}},
    {{schema}}.changes_{{gen}};
