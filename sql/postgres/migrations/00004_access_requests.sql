-- Access requests with a two-person rule, enforced by the database. {{schema}} is
-- replaced by the quoted schema name before goose reads this file.
--
-- A local grant is no longer written by whoever holds the schema's DSN: a person
-- requests it, one of the approvers the policy designates for the object approves
-- it, and only then does a row of local_grants (and so of the access view) exist.
-- Every rule is checked here, by SECURITY DEFINER functions that are the SQL API
-- of the feature, so the command line, a data API or a chat bot calling them meet
-- the same checks:
--
--   request(email, account, object_type, object_name, privilege, duration, reason, approvers)
--   approve(request_id), deny(request_id, reason)
--   break_glass(email, account, object_type, object_name, privilege, duration, reason)
--   review(request_id, note), revoke(grant_id, reason)
--   requests_list(scope), whoami(), policy_show()
--
-- and, for a service that authenticates people itself and calls with its own
-- role, the same functions ending in _for whose first argument is the person it
-- acts for. Who calls is session_user (which SET ROLE does not change) mapped to
-- an email by identities; it is never an argument of the person's own path.
--
-- The policy (allow-list, durations, designated approvers, sensitive objects,
-- break-glass, activity extension, the identity map) lives in tables only their
-- owner writes, and is changed by the admins of policy_admins through the policy_*
-- functions, each of which writes the audit table.

-- +goose Up

-- Who may change the policy: database roles. The role that migrates the schema is
-- the first admin.
CREATE TABLE {{schema}}.policy_admins (
    role name PRIMARY KEY
);

INSERT INTO {{schema}}.policy_admins (role) VALUES (current_user);

-- Database role → email. Each person connects as a role of their own; a service
-- role (service = true) may also act for the people it authenticates through the
-- *_for functions.
CREATE TABLE {{schema}}.identities (
    role    name PRIMARY KEY,
    email   text COLLATE "C" NOT NULL CHECK (email = lower(btrim(email)) AND email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    service boolean NOT NULL DEFAULT false
);

-- One person, one role: two roles with one email would let a person approve as
-- "someone else" who is themselves.
CREATE UNIQUE INDEX identities_person_email ON {{schema}}.identities (email) WHERE NOT service;

-- The one row of limits. break_glass_max 0 disables break-glass; activity_extension
-- and activity_ceiling are both set (use extends a grant by extension, up to
-- ceiling from its start) or both NULL (no extension).
CREATE TABLE {{schema}}.policy (
    one                boolean PRIMARY KEY DEFAULT true CHECK (one),
    max_duration       interval NOT NULL DEFAULT '30 days' CHECK (max_duration > interval '0'),
    pending_ttl        interval NOT NULL DEFAULT '7 days' CHECK (pending_ttl > interval '0'),
    break_glass_max    interval NOT NULL DEFAULT '4 hours' CHECK (break_glass_max >= interval '0'),
    activity_extension interval CHECK (activity_extension > interval '0'),
    activity_ceiling   interval CHECK (activity_ceiling > interval '0'),
    CHECK ((activity_extension IS NULL) = (activity_ceiling IS NULL)),
    CHECK (activity_ceiling IS NULL OR activity_ceiling >= max_duration)
);

INSERT INTO {{schema}}.policy DEFAULT VALUES;

-- What a request may ask for. The checks are the floor no admin lowers: never
-- ownership, never a role.
CREATE TABLE {{schema}}.policy_allow (
    object_type text COLLATE "C" NOT NULL CHECK (object_type ~ '^[A-Z_]+$'),
    privilege   text COLLATE "C" NOT NULL CHECK (privilege ~ '^[A-Z_ ]+$'),
    PRIMARY KEY (object_type, privilege),
    CHECK (privilege <> 'OWNERSHIP'),
    CHECK (object_type NOT IN ('ROLE', 'DATABASE_ROLE', 'APPLICATION_ROLE', 'INSTANCE_ROLE'))
);

INSERT INTO {{schema}}.policy_allow (object_type, privilege)
VALUES ('TABLE', 'SELECT'), ('VIEW', 'SELECT'), ('MATERIALIZED_VIEW', 'SELECT');

-- Who may approve requests on what: an object, a schema or a database (canonical
-- dotted names), or the fallback (name ''). The most specific level that names
-- anyone for an object is the one that counts.
CREATE TABLE {{schema}}.policy_approvers (
    scope text COLLATE "C" NOT NULL CHECK (scope IN ('object', 'schema', 'database', 'fallback')),
    name  text COLLATE "C" NOT NULL,
    email text COLLATE "C" NOT NULL CHECK (email = lower(btrim(email)) AND email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    PRIMARY KEY (scope, name, email),
    CHECK ((scope = 'fallback') = (name = ''))
);

-- Objects, schemas or databases whose grants never outlive their approved
-- duration, whatever the activity.
CREATE TABLE {{schema}}.policy_sensitive (
    name text COLLATE "C" PRIMARY KEY CHECK (name <> '')
);

-- Access requests. pending until an approver approves or denies it, or until it
-- expires unanswered after the policy's pending_ttl; break_glass is in force from
-- its creation and waits for a review. The checks repeat the two-person rule so
-- that not even the owner's direct writes break it.
CREATE TABLE {{schema}}.requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         text COLLATE "C" NOT NULL,
    email           text COLLATE "C" NOT NULL,
    object_type     text COLLATE "C" NOT NULL,
    object_name     text COLLATE "C" NOT NULL,
    privilege       text COLLATE "C" NOT NULL,
    duration        interval NOT NULL CHECK (duration > interval '0'),
    reason          text NOT NULL CHECK (btrim(reason) <> ''),
    requested_by    text COLLATE "C" NOT NULL,
    requested_via   name NOT NULL,
    approvers       text[] NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'break_glass')),
    created_at      timestamptz NOT NULL,
    decided_at      timestamptz,
    decided_by      text COLLATE "C",
    decided_via     name,
    decision_reason text,
    grant_id        bigint UNIQUE REFERENCES {{schema}}.local_grants (id),
    reviewed_at     timestamptz,
    reviewed_by     text COLLATE "C",
    review_note     text,
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK ((status IN ('approved', 'break_glass')) = (grant_id IS NOT NULL)),
    CHECK (status = 'break_glass' OR cardinality(approvers) > 0),
    CHECK (NOT (requested_by = ANY (approvers)) AND NOT (email = ANY (approvers))),
    CHECK (status <> 'approved' OR (decided_by <> requested_by AND decided_by <> email AND decided_by = ANY (approvers))),
    CHECK (reviewed_at IS NULL OR (status = 'break_glass' AND reviewed_by <> requested_by AND reviewed_by <> email))
);

CREATE INDEX requests_pending ON {{schema}}.requests (created_at) WHERE status = 'pending';

COMMENT ON TABLE {{schema}}.requests IS
    'Access requests: who asked for what, for how long and why, whom they named to approve, and who decided, when and why. A grant exists only for approved and break_glass requests.';

-- Notifications waiting for the webhook. A deliverer claims rows for a while
-- (claimed_until), so two deliverers never send one event twice; each failure
-- counts an attempt, and after the last one the row moves to webhook_dead.
CREATE TABLE {{schema}}.webhook_outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event         text NOT NULL,
    request_id    bigint,
    text          text NOT NULL,
    created_at    timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    claimed_until timestamptz,
    delivered_at  timestamptz
);

CREATE INDEX webhook_outbox_undelivered ON {{schema}}.webhook_outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE {{schema}}.webhook_dead (
    id         bigint PRIMARY KEY,
    event      text NOT NULL,
    request_id bigint,
    text       text NOT NULL,
    created_at timestamptz NOT NULL,
    attempts   integer NOT NULL,
    last_error text NOT NULL,
    dead_at    timestamptz NOT NULL
);

-- Pins the clock of the request functions to a moment. Empty in production, where
-- they use now(); only the schema's owner writes it, so unlike a session setting
-- nobody who requests or approves can move it. Tests pin it to stand at exact
-- seconds.
CREATE TABLE {{schema}}.clock_pin (
    at timestamptz NOT NULL
);

CREATE UNIQUE INDEX clock_pin_one_row ON {{schema}}.clock_pin ((true));

-- One clock for requests and for the access view's local-grant branch, so a
-- grant expires in the view at the second the request functions say it does.
-- A one-expression SQL function: the planner inlines it, and the view's filter
-- stays index-friendly.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.clock() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce((SELECT at FROM {{schema}}.clock_pin), now()) $$;
-- +goose StatementEnd

-- Every reader of the access view runs clock() as itself, so it may read the
-- pin; writing it stays the owner's alone.
GRANT SELECT ON {{schema}}.clock_pin TO PUBLIC;

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.request_now() RETURNS timestamptz
LANGUAGE sql STABLE
AS $$ SELECT {{schema}}.clock() $$;
-- +goose StatementEnd

-- refuse raises the error every broken rule raises: SQLSTATE GM001, which the
-- Go store reads as a refusal.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.refuse(msg text) RETURNS void
LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'GM001', MESSAGE = msg; END $$;
-- +goose StatementEnd

-- The person session_user stands for, or for whom a service acts. A role not in
-- identities may do nothing; only a service role may name someone else.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.actor(p_for text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    me {{schema}}.identities;
    person text := lower(btrim(p_for));
BEGIN
    SELECT * INTO me FROM {{schema}}.identities WHERE role = session_user;
    IF NOT FOUND THEN
        PERFORM {{schema}}.refuse(format('database role %s has no email in %s.identities; ask a policy admin to map it', session_user, '{{schema}}'));
    END IF;
    IF p_for IS NULL THEN
        RETURN me.email;
    END IF;
    IF NOT me.service THEN
        PERFORM {{schema}}.refuse(format('%s (role %s) is not a service role and cannot act for %s', me.email, session_user, p_for));
    END IF;
    IF person !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
        PERFORM {{schema}}.refuse(format('%L is not a usable email', p_for));
    END IF;
    RETURN person;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.audit_write(p_actor text, p_action text, p_target text, p_reason text, p_details jsonb)
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO {{schema}}.audit (at, actor, action, target, reason, details)
    VALUES ({{schema}}.request_now(), p_actor, p_action, p_target, coalesce(p_reason, ''),
            p_details || jsonb_build_object('session_user', session_user::text))
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.notify(p_event text, p_request_id bigint, p_text text) RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO {{schema}}.webhook_outbox (event, request_id, text, created_at)
    VALUES (p_event, p_request_id, p_text, {{schema}}.request_now())
$$;
-- +goose StatementEnd

-- The approvers designated for an object: those of the most specific level (the
-- object, its schema, its database, the fallback) that names anyone.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.designated_approvers(p_object_name text) RETURNS text[]
LANGUAGE sql STABLE
AS $$
    WITH m AS (
        SELECT email, CASE scope WHEN 'object' THEN 1 WHEN 'schema' THEN 2 WHEN 'database' THEN 3 ELSE 4 END AS level
        FROM {{schema}}.policy_approvers
        WHERE (scope = 'object' AND name = p_object_name)
           OR (scope IN ('schema', 'database') AND (name = p_object_name OR starts_with(p_object_name, name || '.')))
           OR scope = 'fallback'
    )
    SELECT coalesce(array_agg(DISTINCT email ORDER BY email) FILTER (WHERE level = (SELECT min(level) FROM m)), '{}')
    FROM m
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.is_sensitive(p_object_name text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT EXISTS (SELECT 1 FROM {{schema}}.policy_sensitive
                   WHERE name = p_object_name OR starts_with(p_object_name, name || '.'))
$$;
-- +goose StatementEnd

-- The checks every request and break-glass grant passes: allowed by the policy,
-- an object of the current generation, not already held.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.check_request(p_email text, p_account text, p_object_type text, p_object_name text,
                                         p_privilege text, p_duration interval, p_reason text, p_max interval)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    gen bigint;
    known boolean;
    held boolean;
    other bigint;
BEGIN
    IF p_email IS NULL OR p_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' OR p_email <> lower(btrim(p_email)) THEN
        PERFORM {{schema}}.refuse(format('%L is not a usable email (write it in lower case)', p_email));
    END IF;
    IF coalesce(btrim(p_reason), '') = '' THEN
        PERFORM {{schema}}.refuse('give a reason');
    END IF;
    IF p_privilege = 'OWNERSHIP' THEN
        PERFORM {{schema}}.refuse('ownership is never granted locally');
    END IF;
    IF p_object_type IN ('ROLE', 'DATABASE_ROLE', 'APPLICATION_ROLE', 'INSTANCE_ROLE') THEN
        PERFORM {{schema}}.refuse('roles are never granted locally');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM {{schema}}.policy_allow WHERE object_type = p_object_type AND privilege = p_privilege) THEN
        PERFORM {{schema}}.refuse(format('%s on %s is not allowed (policy allows: %s)', p_privilege, p_object_type,
            (SELECT coalesce(string_agg(privilege || ' on ' || object_type, ', ' ORDER BY object_type, privilege), 'nothing')
             FROM {{schema}}.policy_allow)));
    END IF;
    IF p_duration IS NULL OR p_duration <= interval '0' THEN
        PERFORM {{schema}}.refuse('the duration must be positive');
    END IF;
    IF p_duration > p_max THEN
        PERFORM {{schema}}.refuse(format('%s is longer than the policy allows (%s)', justify_hours(p_duration), justify_hours(p_max)));
    END IF;
    SELECT c.generation INTO gen FROM {{schema}}.current c;
    IF gen IS NULL THEN
        PERFORM {{schema}}.refuse('nothing is published yet: local grants build on a published generation');
    END IF;
    SELECT EXISTS (SELECT 1 FROM {{schema}}.grant_rows
                   WHERE object_name = p_object_name AND account = p_account AND object_type = p_object_type
                     AND valid_from <= gen AND valid_to > gen)
        INTO known;
    IF NOT known THEN
        PERFORM {{schema}}.refuse(format('generation %s has no %s %s in account %s; check the name and the object type',
                                         gen, p_object_type, p_object_name, p_account));
    END IF;
    SELECT EXISTS (SELECT 1 FROM {{schema}}.access_rows
                   WHERE email = p_email AND object_type = p_object_type AND object_name = p_object_name
                     AND privilege = p_privilege AND account = p_account
                     AND valid_from <= gen AND valid_to > gen)
        INTO held;
    IF held THEN
        PERFORM {{schema}}.refuse(format('%s already has %s on %s %s through Snowflake (see grantmirror explain)',
                                         p_email, p_privilege, p_object_type, p_object_name));
    END IF;
    SELECT id INTO other FROM {{schema}}.local_grants
    WHERE account = p_account AND email = p_email AND object_type = p_object_type AND object_name = p_object_name
      AND privilege = p_privilege AND revoked_at IS NULL AND until > {{schema}}.request_now()
    LIMIT 1;
    IF other IS NOT NULL THEN
        PERFORM {{schema}}.refuse(format('local grant #%s already gives %s %s on %s; revoke it first to change it',
                                         other, p_email, p_privilege, p_object_name));
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.request_details(r {{schema}}.requests) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object('request', r.id, 'account', r.account, 'email', r.email, 'object_type', r.object_type,
        'object_name', r.object_name, 'privilege', r.privilege, 'duration', r.duration::text,
        'requested_by', r.requested_by, 'approvers', to_jsonb(r.approvers), 'status', r.status, 'grant', r.grant_id)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.do_request(p_actor text, p_email text, p_account text, p_object_type text, p_object_name text,
                                      p_privilege text, p_duration interval, p_reason text, p_approvers text[])
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    designated text[] := {{schema}}.designated_approvers(p_object_name);
    named text[];
    a text;
    r {{schema}}.requests;
BEGIN
    PERFORM {{schema}}.check_request(p_email, p_account, p_object_type, p_object_name, p_privilege, p_duration, p_reason,
                                     (SELECT max_duration FROM {{schema}}.policy));
    SELECT coalesce(array_agg(DISTINCT lower(btrim(x)) ORDER BY lower(btrim(x))), '{}') INTO named
    FROM unnest(p_approvers) x
    WHERE coalesce(btrim(x), '') <> '';
    IF cardinality(named) = 0 THEN
        PERFORM {{schema}}.refuse(format('name at least one approver (designated for %s: %s)', p_object_name,
                                         coalesce(nullif(array_to_string(designated, ', '), ''), 'nobody; ask a policy admin')));
    END IF;
    FOREACH a IN ARRAY named LOOP
        IF a = p_actor OR a = p_email THEN
            PERFORM {{schema}}.refuse(format('%s cannot approve a request for their own access or that they make', a));
        END IF;
        IF NOT a = ANY (designated) THEN
            PERFORM {{schema}}.refuse(format('%s is not a designated approver for %s (designated: %s)', a, p_object_name,
                                             coalesce(nullif(array_to_string(designated, ', '), ''), 'nobody; ask a policy admin')));
        END IF;
    END LOOP;
    INSERT INTO {{schema}}.requests (account, email, object_type, object_name, privilege, duration, reason, requested_by,
                                     requested_via, approvers, status, created_at)
    VALUES (p_account, p_email, p_object_type, p_object_name, p_privilege, p_duration, btrim(p_reason), p_actor,
            session_user, named, 'pending', {{schema}}.request_now())
    RETURNING * INTO r;
    PERFORM {{schema}}.audit_write(p_actor, 'request.create', 'request #' || r.id, r.reason, {{schema}}.request_details(r));
    PERFORM {{schema}}.notify('request', r.id, format('Access request #%s: %s asks for %s to have %s on %s %s for %s: "%s". Approvers: %s.',
        r.id, p_actor, r.email, r.privilege, r.object_type, r.object_name, r.duration, r.reason, array_to_string(named, ', ')));
    RETURN r.id;
END
$$;
-- +goose StatementEnd

-- Makes the grant of request r, from now for the request's duration.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.make_grant(r {{schema}}.requests, p_approver text, p_duration interval) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    at timestamptz := {{schema}}.request_now();
    id bigint;
BEGIN
    INSERT INTO {{schema}}.local_grants (account, email, object_type, object_name, privilege, granted_by, approver, reason,
                                         created_at, until)
    VALUES (r.account, r.email, r.object_type, r.object_name, r.privilege, r.requested_by, p_approver, r.reason,
            at, at + p_duration)
    RETURNING local_grants.id INTO id;
    RETURN id;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.locked_request(p_id bigint) RETURNS {{schema}}.requests
LANGUAGE plpgsql
AS $$
DECLARE
    r {{schema}}.requests;
BEGIN
    SELECT * INTO r FROM {{schema}}.requests WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'GM002', MESSAGE = format('no request #%s', p_id);
    END IF;
    RETURN r;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.do_approve(p_actor text, p_id bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    r {{schema}}.requests;
    gid bigint;
BEGIN
    -- Two approvals of requests for the same row must not both make a grant.
    LOCK TABLE {{schema}}.local_grants IN SHARE ROW EXCLUSIVE MODE;
    r := {{schema}}.locked_request(p_id);
    IF r.status <> 'pending' THEN
        PERFORM {{schema}}.refuse(format('request #%s is %s, not pending', p_id, r.status));
    END IF;
    IF p_actor = r.requested_by OR p_actor = r.email THEN
        PERFORM {{schema}}.refuse(format('%s cannot approve request #%s: nobody approves their own request or their own access', p_actor, p_id));
    END IF;
    IF NOT p_actor = ANY (r.approvers) THEN
        PERFORM {{schema}}.refuse(format('%s is not an approver of request #%s (it names %s)', p_actor, p_id, array_to_string(r.approvers, ', ')));
    END IF;
    IF NOT p_actor = ANY ({{schema}}.designated_approvers(r.object_name)) THEN
        PERFORM {{schema}}.refuse(format('%s is no longer a designated approver for %s', p_actor, r.object_name));
    END IF;
    IF r.created_at + (SELECT pending_ttl FROM {{schema}}.policy) <= {{schema}}.request_now() THEN
        PERFORM {{schema}}.refuse(format('request #%s waited longer than the policy allows and has expired; request again', p_id));
    END IF;
    PERFORM {{schema}}.check_request(r.email, r.account, r.object_type, r.object_name, r.privilege, r.duration, r.reason,
                                     (SELECT max_duration FROM {{schema}}.policy));
    gid := {{schema}}.make_grant(r, p_actor, r.duration);
    UPDATE {{schema}}.requests
    SET status = 'approved', decided_at = {{schema}}.request_now(), decided_by = p_actor, decided_via = session_user, grant_id = gid
    WHERE id = p_id
    RETURNING * INTO r;
    PERFORM {{schema}}.audit_write(p_actor, 'request.approve', 'request #' || p_id, '',
        {{schema}}.request_details(r) || jsonb_build_object('until', (SELECT until FROM {{schema}}.local_grants WHERE id = gid)));
    PERFORM {{schema}}.notify('approval', p_id, format('Access request #%s approved by %s: %s has %s on %s %s until %s (local grant #%s).',
        p_id, p_actor, r.email, r.privilege, r.object_type, r.object_name,
        (SELECT to_char(until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"') FROM {{schema}}.local_grants WHERE id = gid), gid));
    RETURN gid;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.do_deny(p_actor text, p_id bigint, p_reason text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r {{schema}}.requests;
BEGIN
    r := {{schema}}.locked_request(p_id);
    IF r.status <> 'pending' THEN
        PERFORM {{schema}}.refuse(format('request #%s is %s, not pending', p_id, r.status));
    END IF;
    IF coalesce(btrim(p_reason), '') = '' THEN
        PERFORM {{schema}}.refuse('say why the request is denied');
    END IF;
    -- The requester may withdraw their own request; otherwise only a named approver decides.
    IF p_actor <> r.requested_by AND NOT p_actor = ANY (r.approvers) THEN
        PERFORM {{schema}}.refuse(format('%s is not an approver of request #%s (it names %s)', p_actor, p_id, array_to_string(r.approvers, ', ')));
    END IF;
    UPDATE {{schema}}.requests
    SET status = 'denied', decided_at = {{schema}}.request_now(), decided_by = p_actor, decided_via = session_user,
        decision_reason = btrim(p_reason)
    WHERE id = p_id
    RETURNING * INTO r;
    PERFORM {{schema}}.audit_write(p_actor, 'request.deny', 'request #' || p_id, btrim(p_reason), {{schema}}.request_details(r));
    PERFORM {{schema}}.notify('denial', p_id, format('Access request #%s for %s to have %s on %s denied by %s: "%s".',
        p_id, r.email, r.privilege, r.object_name, p_actor, btrim(p_reason)));
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.do_break_glass(p_actor text, p_email text, p_account text, p_object_type text, p_object_name text,
                                          p_privilege text, p_duration interval, p_reason text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    lim interval := (SELECT break_glass_max FROM {{schema}}.policy);
    r {{schema}}.requests;
    gid bigint;
BEGIN
    IF lim = interval '0' THEN
        PERFORM {{schema}}.refuse('break-glass is disabled by the policy');
    END IF;
    IF cardinality({{schema}}.designated_approvers(p_object_name)) = 0 THEN
        PERFORM {{schema}}.refuse(format('nobody is designated to review access to %s; ask a policy admin', p_object_name));
    END IF;
    LOCK TABLE {{schema}}.local_grants IN SHARE ROW EXCLUSIVE MODE;
    PERFORM {{schema}}.check_request(p_email, p_account, p_object_type, p_object_name, p_privilege, p_duration, p_reason, lim);
    r.account := p_account; r.email := p_email; r.object_type := p_object_type; r.object_name := p_object_name;
    r.privilege := p_privilege; r.requested_by := p_actor; r.reason := btrim(p_reason);
    gid := {{schema}}.make_grant(r, 'break-glass', p_duration);
    INSERT INTO {{schema}}.requests (account, email, object_type, object_name, privilege, duration, reason, requested_by,
                                     requested_via, approvers, status, created_at, decided_at, decided_by, decided_via, grant_id)
    VALUES (p_account, p_email, p_object_type, p_object_name, p_privilege, p_duration, btrim(p_reason), p_actor,
            session_user, '{}', 'break_glass', {{schema}}.request_now(), {{schema}}.request_now(), p_actor, session_user, gid)
    RETURNING * INTO r;
    PERFORM {{schema}}.audit_write(p_actor, 'request.break_glass', 'request #' || r.id, r.reason,
        {{schema}}.request_details(r) || jsonb_build_object('reviewers', to_jsonb({{schema}}.designated_approvers(p_object_name))));
    PERFORM {{schema}}.notify('break_glass', r.id, format(':rotating_light: BREAK-GLASS #%s: %s gave %s %s on %s %s for %s, in force now: "%s". Review needed from %s.',
        r.id, p_actor, r.email, r.privilege, r.object_type, r.object_name, r.duration, r.reason,
        array_to_string({{schema}}.designated_approvers(p_object_name), ', ')));
    RETURN r.id;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.do_review(p_actor text, p_id bigint, p_note text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    r {{schema}}.requests;
BEGIN
    r := {{schema}}.locked_request(p_id);
    IF r.status <> 'break_glass' THEN
        PERFORM {{schema}}.refuse(format('request #%s is %s; only break-glass grants are reviewed', p_id, r.status));
    END IF;
    IF r.reviewed_at IS NOT NULL THEN
        PERFORM {{schema}}.refuse(format('request #%s was reviewed by %s already', p_id, r.reviewed_by));
    END IF;
    IF p_actor = r.requested_by OR p_actor = r.email THEN
        PERFORM {{schema}}.refuse(format('%s cannot review their own break-glass', p_actor));
    END IF;
    IF NOT p_actor = ANY ({{schema}}.designated_approvers(r.object_name)) THEN
        PERFORM {{schema}}.refuse(format('%s is not a designated approver for %s', p_actor, r.object_name));
    END IF;
    IF coalesce(btrim(p_note), '') = '' THEN
        PERFORM {{schema}}.refuse('write what the review found');
    END IF;
    UPDATE {{schema}}.requests
    SET reviewed_at = {{schema}}.request_now(), reviewed_by = p_actor, review_note = btrim(p_note)
    WHERE id = p_id
    RETURNING * INTO r;
    PERFORM {{schema}}.audit_write(p_actor, 'request.review', 'request #' || p_id, btrim(p_note), {{schema}}.request_details(r));
END
$$;
-- +goose StatementEnd

-- A person may revoke a grant they hold, and a designated approver of its object
-- or a policy admin any grant.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.do_revoke(p_actor text, p_grant bigint, p_reason text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    g {{schema}}.local_grants;
BEGIN
    SELECT * INTO g FROM {{schema}}.local_grants WHERE id = p_grant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'GM002', MESSAGE = format('no local grant #%s', p_grant);
    END IF;
    IF g.revoked_at IS NOT NULL OR g.expired_at IS NOT NULL OR g.until <= {{schema}}.request_now() THEN
        RAISE EXCEPTION USING ERRCODE = 'GM003', MESSAGE = format('local grant #%s has already ended', p_grant);
    END IF;
    IF coalesce(btrim(p_reason), '') = '' THEN
        PERFORM {{schema}}.refuse('say why the grant is revoked');
    END IF;
    IF p_actor <> g.email AND NOT p_actor = ANY ({{schema}}.designated_approvers(g.object_name))
       AND NOT EXISTS (SELECT 1 FROM {{schema}}.policy_admins WHERE role = session_user) THEN
        PERFORM {{schema}}.refuse(format('%s may not revoke local grant #%s: only its holder, a designated approver or a policy admin', p_actor, p_grant));
    END IF;
    UPDATE {{schema}}.local_grants
    SET revoked_at = {{schema}}.request_now(), revoked_by = p_actor, revoke_reason = btrim(p_reason)
    WHERE id = p_grant;
    PERFORM {{schema}}.audit_write(p_actor, 'grant.revoke', 'local grant #' || p_grant, btrim(p_reason),
        jsonb_build_object('id', g.id, 'email', g.email, 'object_name', g.object_name, 'privilege', g.privilege,
                           'request', (SELECT id FROM {{schema}}.requests WHERE grant_id = g.id)));
END
$$;
-- +goose StatementEnd

-- The sync's bookkeeping, for the schema's owner only: records the grants that
-- ran out by p_now (they stopped counting at until already) and expires the
-- requests left pending past the policy's pending_ttl, each with its audit entry
-- and notification. Returns how many of each.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.expire(p_actor text, p_now timestamptz, OUT grants integer, OUT requests integer)
LANGUAGE plpgsql
AS $$
DECLARE
    g {{schema}}.local_grants;
    r {{schema}}.requests;
    rid bigint;
BEGIN
    grants := 0;
    requests := 0;
    FOR g IN UPDATE {{schema}}.local_grants SET expired_at = p_now
             WHERE revoked_at IS NULL AND expired_at IS NULL AND until <= p_now
             RETURNING * LOOP
        rid := (SELECT id FROM {{schema}}.requests WHERE grant_id = g.id);
        INSERT INTO {{schema}}.audit (at, actor, action, target, reason, details)
        VALUES (p_now, p_actor, 'grant.expire', 'local grant #' || g.id,
                'expired at ' || to_char(g.until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                jsonb_build_object('id', g.id, 'account', g.account, 'email', g.email, 'object_type', g.object_type,
                                   'object_name', g.object_name, 'privilege', g.privilege, 'granted_by', g.granted_by,
                                   'approver', g.approver, 'created_at', g.created_at, 'until', g.until, 'request', rid));
        INSERT INTO {{schema}}.webhook_outbox (event, request_id, text, created_at)
        VALUES ('expiry', rid, format('Local grant #%s expired: %s no longer has %s on %s %s.', g.id, g.email, g.privilege,
                                      g.object_type, g.object_name), p_now);
        grants := grants + 1;
    END LOOP;
    FOR r IN UPDATE {{schema}}.requests SET status = 'expired', decided_at = p_now, decided_by = p_actor,
                 decided_via = session_user, decision_reason = 'nobody decided within the policy''s pending_ttl'
             WHERE status = 'pending' AND created_at + (SELECT pending_ttl FROM {{schema}}.policy) <= p_now
             RETURNING * LOOP
        INSERT INTO {{schema}}.audit (at, actor, action, target, reason, details)
        VALUES (p_now, p_actor, 'request.expire', 'request #' || r.id, r.decision_reason, {{schema}}.request_details(r));
        INSERT INTO {{schema}}.webhook_outbox (event, request_id, text, created_at)
        VALUES ('expiry', r.id, format('Access request #%s for %s to have %s on %s expired unanswered.', r.id, r.email,
                                       r.privilege, r.object_name), p_now);
        requests := requests + 1;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- Extends an approved grant in force at p_now that was used at p_used: to
-- p_used + the policy's activity_extension, never beyond its start + the
-- activity_ceiling, never for a sensitive object or a break-glass grant, never
-- shorter than it was. Returns the new until, or NULL when nothing changed. For
-- the schema's owner only: the sync calls it with what access history says.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.extend(p_actor text, p_grant bigint, p_used timestamptz, p_now timestamptz) RETURNS timestamptz
LANGUAGE plpgsql
AS $$
DECLARE
    p {{schema}}.policy;
    g {{schema}}.local_grants;
    want timestamptz;
BEGIN
    SELECT * INTO p FROM {{schema}}.policy;
    IF p.activity_extension IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO g FROM {{schema}}.local_grants WHERE id = p_grant FOR UPDATE;
    IF NOT FOUND OR g.revoked_at IS NOT NULL OR g.expired_at IS NOT NULL OR g.until <= p_now OR p_used < g.created_at
       OR {{schema}}.is_sensitive(g.object_name)
       OR NOT EXISTS (SELECT 1 FROM {{schema}}.requests WHERE grant_id = g.id AND status = 'approved') THEN
        RETURN NULL;
    END IF;
    want := least(p_used + p.activity_extension, g.created_at + p.activity_ceiling);
    IF want <= g.until THEN
        RETURN NULL;
    END IF;
    UPDATE {{schema}}.local_grants SET until = want WHERE id = p_grant;
    INSERT INTO {{schema}}.audit (at, actor, action, target, reason, details)
    VALUES (p_now, p_actor, 'grant.extend', 'local grant #' || g.id, 'used at ' || p_used,
            jsonb_build_object('id', g.id, 'email', g.email, 'object_name', g.object_name, 'privilege', g.privilege,
                               'until_before', g.until, 'until', want, 'used_at', p_used,
                               'request', (SELECT id FROM {{schema}}.requests WHERE grant_id = g.id)));
    RETURN want;
END
$$;
-- +goose StatementEnd

-- The public API: who calls is session_user; the _for forms are for service roles.

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.whoami() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.actor(NULL) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.request(p_email text, p_account text, p_object_type text, p_object_name text, p_privilege text,
                                   p_duration interval, p_reason text, p_approvers text[])
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_request({{schema}}.actor(NULL), p_email, p_account, p_object_type, p_object_name, p_privilege,
                                   p_duration, p_reason, p_approvers) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.request_for(p_person text, p_email text, p_account text, p_object_type text, p_object_name text,
                                       p_privilege text, p_duration interval, p_reason text, p_approvers text[])
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_request({{schema}}.actor(p_person), p_email, p_account, p_object_type, p_object_name, p_privilege,
                                   p_duration, p_reason, p_approvers) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.approve(p_id bigint) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_approve({{schema}}.actor(NULL), p_id) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.approve_for(p_person text, p_id bigint) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_approve({{schema}}.actor(p_person), p_id) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.deny(p_id bigint, p_reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_deny({{schema}}.actor(NULL), p_id, p_reason) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.deny_for(p_person text, p_id bigint, p_reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_deny({{schema}}.actor(p_person), p_id, p_reason) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.break_glass(p_email text, p_account text, p_object_type text, p_object_name text, p_privilege text,
                                       p_duration interval, p_reason text)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_break_glass({{schema}}.actor(NULL), p_email, p_account, p_object_type, p_object_name, p_privilege,
                                       p_duration, p_reason) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.break_glass_for(p_person text, p_email text, p_account text, p_object_type text, p_object_name text,
                                           p_privilege text, p_duration interval, p_reason text)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_break_glass({{schema}}.actor(p_person), p_email, p_account, p_object_type, p_object_name, p_privilege,
                                       p_duration, p_reason) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.review(p_id bigint, p_note text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_review({{schema}}.actor(NULL), p_id, p_note) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.review_for(p_person text, p_id bigint, p_note text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_review({{schema}}.actor(p_person), p_id, p_note) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.revoke(p_grant bigint, p_reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_revoke({{schema}}.actor(NULL), p_grant, p_reason) $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.revoke_for(p_person text, p_grant bigint, p_reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT {{schema}}.do_revoke({{schema}}.actor(p_person), p_grant, p_reason) $$;
-- +goose StatementEnd

-- Requests as the caller sees them: 'mine' (made by or for the caller),
-- 'to_approve' (pending ones naming the caller, and break-glass grants the caller
-- may review), or 'all'.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.requests_list(p_scope text) RETURNS SETOF {{schema}}.requests
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := {{schema}}.actor(NULL);
BEGIN
    IF p_scope NOT IN ('mine', 'to_approve', 'all') THEN
        PERFORM {{schema}}.refuse(format('scope %L: want mine, to_approve or all', p_scope));
    END IF;
    RETURN QUERY
    SELECT * FROM {{schema}}.requests r
    WHERE p_scope = 'all'
       OR (p_scope = 'mine' AND (r.requested_by = me OR r.email = me))
       OR (p_scope = 'to_approve' AND r.status = 'pending' AND me = ANY (r.approvers)
           AND r.created_at + (SELECT pending_ttl FROM {{schema}}.policy) > {{schema}}.request_now())
       OR (p_scope = 'to_approve' AND r.status = 'break_glass' AND r.reviewed_at IS NULL
           AND me <> r.requested_by AND me <> r.email AND me = ANY ({{schema}}.designated_approvers(r.object_name)))
    ORDER BY r.id;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_show() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'max_duration', extract(epoch FROM p.max_duration)::bigint,
        'pending_ttl', extract(epoch FROM p.pending_ttl)::bigint,
        'break_glass_max', extract(epoch FROM p.break_glass_max)::bigint,
        'activity_extension', extract(epoch FROM p.activity_extension)::bigint,
        'activity_ceiling', extract(epoch FROM p.activity_ceiling)::bigint,
        'allow', (SELECT coalesce(jsonb_agg(jsonb_build_object('object_type', object_type, 'privilege', privilege)
                                            ORDER BY object_type, privilege), '[]') FROM {{schema}}.policy_allow),
        'approvers', (SELECT coalesce(jsonb_agg(jsonb_build_object('scope', scope, 'name', name, 'email', email)
                                                ORDER BY scope, name, email), '[]') FROM {{schema}}.policy_approvers),
        'sensitive', (SELECT coalesce(jsonb_agg(name ORDER BY name), '[]') FROM {{schema}}.policy_sensitive),
        'identities', (SELECT coalesce(jsonb_agg(jsonb_build_object('role', role::text, 'email', email, 'service', service)
                                                 ORDER BY role), '[]') FROM {{schema}}.identities),
        'admins', (SELECT coalesce(jsonb_agg(role::text ORDER BY role), '[]') FROM {{schema}}.policy_admins))
    FROM {{schema}}.policy p
$$;
-- +goose StatementEnd

-- Policy changes: only a role of policy_admins, always with a reason, always audited.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_actor(p_reason text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {{schema}}.policy_admins WHERE role = session_user) THEN
        RAISE EXCEPTION USING ERRCODE = 'GM004',
            MESSAGE = format('database role %s is not a policy admin of %s', session_user, '{{schema}}');
    END IF;
    IF coalesce(btrim(p_reason), '') = '' THEN
        PERFORM {{schema}}.refuse('say why the policy changes');
    END IF;
    RETURN coalesce((SELECT email FROM {{schema}}.identities WHERE role = session_user), session_user::text);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_allow(p_object_type text, p_privilege text, p_allowed boolean, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := {{schema}}.policy_actor(p_reason);
BEGIN
    IF upper(p_privilege) = 'OWNERSHIP' THEN
        PERFORM {{schema}}.refuse('ownership is never granted locally');
    END IF;
    IF upper(p_object_type) IN ('ROLE', 'DATABASE_ROLE', 'APPLICATION_ROLE', 'INSTANCE_ROLE') THEN
        PERFORM {{schema}}.refuse('roles are never granted locally');
    END IF;
    IF p_allowed IS NULL THEN
        PERFORM {{schema}}.refuse('say whether the privilege is allowed');
    END IF;
    IF p_allowed THEN
        INSERT INTO {{schema}}.policy_allow VALUES (upper(p_object_type), upper(p_privilege)) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM {{schema}}.policy_allow WHERE object_type = upper(p_object_type) AND privilege = upper(p_privilege);
    END IF;
    PERFORM {{schema}}.audit_write(who, 'policy.allow', 'policy', p_reason,
        jsonb_build_object('object_type', upper(p_object_type), 'privilege', upper(p_privilege), 'allowed', p_allowed));
END
$$;
-- +goose StatementEnd

-- Sets the limits; NULL keeps a limit as it is, except the activity pair, which
-- p_activity_off clears.
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_limits(p_max_duration interval, p_pending_ttl interval, p_break_glass_max interval,
                                         p_activity_extension interval, p_activity_ceiling interval, p_activity_off boolean,
                                         p_reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := {{schema}}.policy_actor(p_reason);
    before jsonb := {{schema}}.policy_show();
BEGIN
    UPDATE {{schema}}.policy SET
        max_duration = coalesce(p_max_duration, max_duration),
        pending_ttl = coalesce(p_pending_ttl, pending_ttl),
        break_glass_max = coalesce(p_break_glass_max, break_glass_max),
        activity_extension = CASE WHEN p_activity_off THEN NULL ELSE coalesce(p_activity_extension, activity_extension) END,
        activity_ceiling = CASE WHEN p_activity_off THEN NULL ELSE coalesce(p_activity_ceiling, activity_ceiling) END;
    PERFORM {{schema}}.audit_write(who, 'policy.limits', 'policy', p_reason,
        jsonb_build_object('before', before - 'allow' - 'approvers' - 'sensitive' - 'identities' - 'admins',
                           'after', {{schema}}.policy_show() - 'allow' - 'approvers' - 'sensitive' - 'identities' - 'admins'));
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_approver(p_scope text, p_name text, p_email text, p_designated boolean, p_reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := {{schema}}.policy_actor(p_reason);
    parts int := CASE WHEN coalesce(p_name, '') = '' THEN 0 ELSE cardinality(parse_ident(p_name)) END;
BEGIN
    IF (p_scope = 'fallback' AND parts <> 0) OR (p_scope = 'database' AND parts <> 1) OR (p_scope = 'schema' AND parts <> 2)
       OR (p_scope = 'object' AND parts < 3) OR p_scope NOT IN ('fallback', 'database', 'schema', 'object') THEN
        PERFORM {{schema}}.refuse(format('approver scope %s with name %L: want fallback (no name), database DB, schema DB.SCHEMA or object DB.SCHEMA.NAME',
                                         p_scope, p_name));
    END IF;
    IF p_designated THEN
        INSERT INTO {{schema}}.policy_approvers VALUES (p_scope, coalesce(p_name, ''), lower(btrim(p_email))) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM {{schema}}.policy_approvers WHERE scope = p_scope AND name = coalesce(p_name, '') AND email = lower(btrim(p_email));
    END IF;
    PERFORM {{schema}}.audit_write(who, 'policy.approver', 'policy', p_reason,
        jsonb_build_object('scope', p_scope, 'name', coalesce(p_name, ''), 'email', lower(btrim(p_email)), 'designated', p_designated));
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_sensitive(p_name text, p_sensitive boolean, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := {{schema}}.policy_actor(p_reason);
BEGIN
    IF p_sensitive THEN
        INSERT INTO {{schema}}.policy_sensitive VALUES (p_name) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM {{schema}}.policy_sensitive WHERE name = p_name;
    END IF;
    PERFORM {{schema}}.audit_write(who, 'policy.sensitive', 'policy', p_reason,
        jsonb_build_object('name', p_name, 'sensitive', p_sensitive));
END
$$;
-- +goose StatementEnd

-- Maps a database role to a person's email (NULL removes the mapping).
-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_identity(p_role name, p_email text, p_service boolean, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := {{schema}}.policy_actor(p_reason);
BEGIN
    IF p_email IS NULL THEN
        DELETE FROM {{schema}}.identities WHERE role = p_role;
    ELSE
        INSERT INTO {{schema}}.identities VALUES (p_role, lower(btrim(p_email)), coalesce(p_service, false))
        ON CONFLICT (role) DO UPDATE SET email = excluded.email, service = excluded.service;
    END IF;
    PERFORM {{schema}}.audit_write(who, 'policy.identity', 'policy', p_reason,
        jsonb_build_object('role', p_role::text, 'email', lower(btrim(p_email)), 'service', coalesce(p_service, false)));
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION {{schema}}.policy_admin(p_role name, p_admin boolean, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := {{schema}}.policy_actor(p_reason);
BEGIN
    IF p_admin THEN
        INSERT INTO {{schema}}.policy_admins VALUES (p_role) ON CONFLICT DO NOTHING;
    ELSE
        IF (SELECT count(*) FROM {{schema}}.policy_admins WHERE role <> p_role) = 0 THEN
            PERFORM {{schema}}.refuse('the policy needs at least one admin');
        END IF;
        DELETE FROM {{schema}}.policy_admins WHERE role = p_role;
    END IF;
    PERFORM {{schema}}.audit_write(who, 'policy.admin', 'policy', p_reason,
        jsonb_build_object('role', p_role::text, 'admin', p_admin));
END
$$;
-- +goose StatementEnd

-- Only the SECURITY DEFINER functions above are meant for callers; the helpers
-- they use run with the owner's rights and are nobody else's business.
REVOKE EXECUTE ON FUNCTION {{schema}}.request_now(), {{schema}}.refuse(text), {{schema}}.actor(text),
    {{schema}}.audit_write(text, text, text, text, jsonb), {{schema}}.notify(text, bigint, text),
    {{schema}}.check_request(text, text, text, text, text, interval, text, interval),
    {{schema}}.request_details({{schema}}.requests),
    {{schema}}.do_request(text, text, text, text, text, text, interval, text, text[]),
    {{schema}}.make_grant({{schema}}.requests, text, interval), {{schema}}.locked_request(bigint),
    {{schema}}.do_approve(text, bigint), {{schema}}.do_deny(text, bigint, text),
    {{schema}}.do_break_glass(text, text, text, text, text, text, interval, text),
    {{schema}}.do_review(text, bigint, text), {{schema}}.do_revoke(text, bigint, text),
    {{schema}}.policy_actor(text), {{schema}}.expire(text, timestamptz),
    {{schema}}.extend(text, bigint, timestamptz, timestamptz)
FROM PUBLIC;

COMMENT ON TABLE {{schema}}.identities IS
    'Database role → the email of the person (or service) it is; the request functions know callers only through it.';
COMMENT ON TABLE {{schema}}.webhook_dead IS
    'Notifications the webhook refused or never answered, after the last attempt.';

-- +goose Down
DROP FUNCTION {{schema}}.policy_admin(name, boolean, text);
DROP FUNCTION {{schema}}.policy_identity(name, text, boolean, text);
DROP FUNCTION {{schema}}.policy_sensitive(text, boolean, text);
DROP FUNCTION {{schema}}.policy_approver(text, text, text, boolean, text);
DROP FUNCTION {{schema}}.policy_limits(interval, interval, interval, interval, interval, boolean, text);
DROP FUNCTION {{schema}}.policy_allow(text, text, boolean, text);
DROP FUNCTION {{schema}}.policy_actor(text);
DROP FUNCTION {{schema}}.policy_show();
DROP FUNCTION {{schema}}.requests_list(text);
DROP FUNCTION {{schema}}.revoke_for(text, bigint, text);
DROP FUNCTION {{schema}}.revoke(bigint, text);
DROP FUNCTION {{schema}}.review_for(text, bigint, text);
DROP FUNCTION {{schema}}.review(bigint, text);
DROP FUNCTION {{schema}}.break_glass_for(text, text, text, text, text, text, interval, text);
DROP FUNCTION {{schema}}.break_glass(text, text, text, text, text, interval, text);
DROP FUNCTION {{schema}}.deny_for(text, bigint, text);
DROP FUNCTION {{schema}}.deny(bigint, text);
DROP FUNCTION {{schema}}.approve_for(text, bigint);
DROP FUNCTION {{schema}}.approve(bigint);
DROP FUNCTION {{schema}}.request_for(text, text, text, text, text, text, interval, text, text[]);
DROP FUNCTION {{schema}}.request(text, text, text, text, text, interval, text, text[]);
DROP FUNCTION {{schema}}.whoami();
DROP FUNCTION {{schema}}.extend(text, bigint, timestamptz, timestamptz);
DROP FUNCTION {{schema}}.expire(text, timestamptz);
DROP FUNCTION {{schema}}.do_revoke(text, bigint, text);
DROP FUNCTION {{schema}}.do_review(text, bigint, text);
DROP FUNCTION {{schema}}.do_break_glass(text, text, text, text, text, text, interval, text);
DROP FUNCTION {{schema}}.do_deny(text, bigint, text);
DROP FUNCTION {{schema}}.do_approve(text, bigint);
DROP FUNCTION {{schema}}.locked_request(bigint);
DROP FUNCTION {{schema}}.make_grant({{schema}}.requests, text, interval);
DROP FUNCTION {{schema}}.do_request(text, text, text, text, text, text, interval, text, text[]);
DROP FUNCTION {{schema}}.request_details({{schema}}.requests);
DROP FUNCTION {{schema}}.check_request(text, text, text, text, text, interval, text, interval);
DROP FUNCTION {{schema}}.is_sensitive(text);
DROP FUNCTION {{schema}}.designated_approvers(text);
DROP FUNCTION {{schema}}.notify(text, bigint, text);
DROP FUNCTION {{schema}}.audit_write(text, text, text, text, jsonb);
DROP FUNCTION {{schema}}.actor(text);
DROP FUNCTION {{schema}}.refuse(text);
DROP FUNCTION {{schema}}.request_now();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION {{schema}}.clock() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT now() $$;
-- +goose StatementEnd
DROP TABLE {{schema}}.clock_pin;
DROP TABLE {{schema}}.webhook_dead;
DROP TABLE {{schema}}.webhook_outbox;
DROP TABLE {{schema}}.requests;
DROP TABLE {{schema}}.policy_sensitive;
DROP TABLE {{schema}}.policy_approvers;
DROP TABLE {{schema}}.policy_allow;
DROP TABLE {{schema}}.policy;
DROP TABLE {{schema}}.identities;
DROP TABLE {{schema}}.policy_admins;
