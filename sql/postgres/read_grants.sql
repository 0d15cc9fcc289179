SELECT account, role, object_type, object_name, privilege, via FROM {{schema}}.grants_{{gen}} ORDER BY ord;
