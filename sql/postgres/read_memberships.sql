SELECT account, email, user_name, role, path FROM {{schema}}.memberships_{{gen}} ORDER BY ord;
