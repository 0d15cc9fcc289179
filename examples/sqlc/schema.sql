-- The product's table: one row per event on a Snowflake table, named
-- canonically in table_name (SALES.PUBLIC.ORDERS, SALES.CORE."lines").
CREATE SCHEMA app;

CREATE TABLE app.events (
    id         bigint PRIMARY KEY,
    table_name text NOT NULL,
    payload    text NOT NULL
);

-- Lets a viewer who sees few tables read their rows without scanning others'.
CREATE INDEX events_table_name_id ON app.events (table_name, id);
