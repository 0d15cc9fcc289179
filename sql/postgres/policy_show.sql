-- The whole policy as one document.
SELECT {{schema}}.policy_show();
