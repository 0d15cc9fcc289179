SELECT meta, excluded FROM {{schema}}.generations WHERE number = $1;
