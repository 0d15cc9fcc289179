-- When the access view last changed content, NULL before the first publication.
SELECT max(at) FROM {{schema}}.publications;
