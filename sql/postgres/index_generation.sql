-- Indexes of generation {{gen}}, built once after the load, then fresh statistics
-- so the planner knows the new tables before the first reader arrives. The
-- unique index leads with email: every guard looks up one person. The statements
-- run as one implicit transaction, so SET LOCAL lasts exactly as long as the
-- builds. Autovacuum sets the visibility map soon after the load, off the
-- publish's critical path; index-only scans follow.
SET LOCAL maintenance_work_mem = '256MB';

CREATE UNIQUE INDEX access_{{gen}}_key
    ON {{schema}}.access_{{gen}} (email, object_type, object_name, privilege, account);
CREATE INDEX memberships_{{gen}}_email
    ON {{schema}}.memberships_{{gen}} (email, role, account);
CREATE INDEX grants_{{gen}}_role
    ON {{schema}}.grants_{{gen}} (account, role, object_type, object_name, privilege);
CREATE UNIQUE INDEX people_{{gen}}_key
    ON {{schema}}.people_{{gen}} (email, account);
CREATE INDEX masked_{{gen}}_object
    ON {{schema}}.masked_{{gen}} (object_name, account);

ANALYZE {{schema}}.access_{{gen}}, {{schema}}.memberships_{{gen}}, {{schema}}.grants_{{gen}}, {{schema}}.masked_{{gen}}, {{schema}}.people_{{gen}};
