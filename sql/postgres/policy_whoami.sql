-- The policy and the email the session's role stands for, in one round trip.
SELECT {{schema}}.policy_show(), {{schema}}.whoami();
