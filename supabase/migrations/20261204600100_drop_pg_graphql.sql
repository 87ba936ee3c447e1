-- adrail serves no GraphQL: clients read through PostgREST (RLS) and act through the functions.
-- Hosted projects come with pg_graphql enabled, and its /graphql/v1 introspection lists every
-- table and view a role may read, to anon and to any signed-in user (Supabase's linter, 0026 and
-- 0027 pg_graphql_*_table_exposed; schema_lint.test.sql). Disabling it is Supabase's documented
-- `drop extension`; the platform then answers /graphql/v1 with "pg_graphql is not enabled".
-- A no-op where it is absent (the local stack).
drop extension if exists pg_graphql;
