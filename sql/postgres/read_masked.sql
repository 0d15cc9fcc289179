SELECT account, object_name, column_name, reason FROM {{schema}}.masked_{{gen}} ORDER BY ord;
