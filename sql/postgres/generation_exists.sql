SELECT EXISTS (SELECT 1 FROM {{schema}}.generations WHERE number = $1);
