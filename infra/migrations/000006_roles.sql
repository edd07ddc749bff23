-- The group roles Kerf's grants are written to: kerf_app (workers, serving, the CLI at run time) and
-- kerf_reader (the SQL of pipeline specs). Login roles are made members of them: the embedded stack
-- does it at start; on a PostgreSQL of your own an administrator does (see the README). Creating a
-- role needs CREATEROLE, so where they already exist (made by an administrator) nothing is done.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kerf_app') THEN
    CREATE ROLE kerf_app NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kerf_reader') THEN
    CREATE ROLE kerf_reader NOLOGIN;
  END IF;
END
$$;
