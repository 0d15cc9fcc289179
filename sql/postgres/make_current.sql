-- Points the published views and the current row at generation {{gen}}. It runs in
-- the publish (or rollback) transaction: readers see the old generation until it
-- commits and the new one after, never a mix. The column lists match the views
-- of the first migration exactly, as CREATE OR REPLACE VIEW requires.
--
-- access adds the local grants in force (second migration): a guard's equality
-- conditions reach both branches, so each probes its own index, and a grant
-- stops counting the second its until passes, with no sync.
CREATE OR REPLACE VIEW {{schema}}.access AS
SELECT account, email, object_type, object_name, privilege
FROM {{schema}}.access_{{gen}}
UNION ALL
SELECT account, email, object_type, object_name, privilege
FROM {{schema}}.local_grants
WHERE revoked_at IS NULL AND until > {{schema}}.clock();

CREATE OR REPLACE VIEW {{schema}}.memberships AS
SELECT DISTINCT account, email, role
FROM {{schema}}.memberships_{{gen}};

CREATE OR REPLACE VIEW {{schema}}.provenance AS
SELECT a.account, a.email, a.object_type, a.object_name, a.privilege,
       m.user_name, m.path AS role_path, g.via
FROM {{schema}}.access_{{gen}} a
JOIN {{schema}}.memberships_{{gen}} m
  ON m.account = a.account AND m.email = a.email
JOIN {{schema}}.grants_{{gen}} g
  ON g.account = m.account AND g.role = m.role
 AND g.object_type = a.object_type AND g.object_name = a.object_name AND g.privilege = a.privilege;

CREATE OR REPLACE VIEW {{schema}}.masked_columns AS
SELECT account, object_name, column_name, reason
FROM {{schema}}.masked_{{gen}};

DELETE FROM {{schema}}.current;

INSERT INTO {{schema}}.current (generation, published_at, snapshot_at)
SELECT number, published_at, snapshot_at
FROM {{schema}}.generations
WHERE number = {{gen}};
