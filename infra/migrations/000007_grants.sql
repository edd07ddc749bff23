-- Least privilege. This migration runs as the owner role, which owns every table; the application
-- role (kerf_app: workers, serving, the CLI) gets only what the code does with each table, and the
-- spec reader (kerf_reader) may only read the shop's data and imported tables, never Kerf's own
-- schemas. Data loading (kerf shop generate, kerf import-csv) runs as the owner: it truncates, makes
-- tables and restarts sequences, which an application role must not do.

-- Nobody but an owner makes objects in public; spec SQL finds imported tables there.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Where `kerf import-csv --table imported.NAME` puts tables a spec reads; owned by the owner role.
CREATE SCHEMA IF NOT EXISTS imported;

-- public: the migration bookkeeping (read: "is this database migrated?") and the smoke checks.
GRANT SELECT ON public.kerf_migrations TO kerf_app;
GRANT SELECT, INSERT, UPDATE ON public.smoke_checks TO kerf_app;
GRANT USAGE ON SEQUENCE public.smoke_checks_id_seq TO kerf_app;

-- shop: read only; the generator runs as the owner.
GRANT USAGE ON SCHEMA shop TO kerf_app;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO kerf_app;

-- registry: versions move status and get their artifacts once (the triggers guard the rest);
-- aliases move and are removed; everything else is appended. models: UPDATE of one column only,
-- because locking a model's row (SELECT ... FOR NO KEY UPDATE) needs an UPDATE privilege.
GRANT USAGE ON SCHEMA registry TO kerf_app;
GRANT SELECT, INSERT ON registry.models TO kerf_app;
GRANT UPDATE (description) ON registry.models TO kerf_app;
GRANT SELECT, INSERT, UPDATE ON registry.versions TO kerf_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON registry.aliases TO kerf_app;
GRANT SELECT, INSERT ON registry.alias_history TO kerf_app;
GRANT SELECT, INSERT ON registry.approvals TO kerf_app;
-- The audit log: append and read, nothing else. Its owner (not kerf_app) alone could switch its
-- triggers off.
GRANT SELECT, INSERT ON registry.audit_log TO kerf_app;
-- Workers still record their own public key at start until trusted keys are added by an admin
-- command; then INSERT here goes (a later migration revokes it).
GRANT SELECT, INSERT ON registry.signing_keys TO kerf_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA registry TO kerf_app;

-- serving: predictions are appended; outcomes are upserted (a correction replaces the earlier one).
GRANT USAGE ON SCHEMA serving TO kerf_app;
GRANT SELECT, INSERT ON serving.predictions TO kerf_app;
GRANT SELECT, INSERT, UPDATE ON serving.outcomes TO kerf_app;
GRANT SELECT ON serving.labelled_predictions TO kerf_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA serving TO kerf_app;

-- monitoring: reports are upserted per nightly run; mappings are taught and retired.
GRANT USAGE ON SCHEMA monitoring TO kerf_app;
GRANT SELECT, INSERT, UPDATE ON monitoring.reports TO kerf_app;
GRANT SELECT, INSERT, UPDATE ON monitoring.category_mappings TO kerf_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA monitoring TO kerf_app;

-- The spec reader: the shop's tables and imported ones (schemas imported and public; the stack
-- adds the others listed in KERF_SPEC_SCHEMAS). Never registry, serving, monitoring or access, and
-- never Kerf's bookkeeping tables in public.
GRANT USAGE ON SCHEMA shop, imported TO kerf_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO kerf_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO kerf_reader;
REVOKE ALL ON public.kerf_migrations, public.smoke_checks FROM kerf_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO kerf_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA imported GRANT SELECT ON TABLES TO kerf_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO kerf_reader;
