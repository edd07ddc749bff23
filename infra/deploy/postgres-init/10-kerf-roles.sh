#!/bin/sh
# Kerf's three login roles and its database, as the README's "Using an existing PostgreSQL" asks;
# runs once, when the PostgreSQL volume is created. Passwords come from postgres.env.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
  -v owner="$KERF_OWNER_PASSWORD" -v app="$KERF_APP_PASSWORD" -v reader="$KERF_READER_PASSWORD" <<'SQL'
CREATE ROLE kerf_app NOLOGIN;
CREATE ROLE kerf_reader NOLOGIN;
CREATE ROLE kerf_owner LOGIN PASSWORD :'owner' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE kerf_app_user LOGIN PASSWORD :'app' NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE kerf_app;
CREATE ROLE kerf_reader_user LOGIN PASSWORD :'reader' NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE kerf_reader;
CREATE DATABASE kerf OWNER kerf_owner;
\c kerf
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
