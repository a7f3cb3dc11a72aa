#!/usr/bin/env bash
# docker-entrypoint-initdb.d for docker-compose.yml: the owner role (migrations) and the runtime
# role (lockboxd serve), with the passwords the compose file is given, and the database.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$LOCKBOX_OWNER_PASSWORD" -v app_password="$LOCKBOX_APP_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE lockbox_owner LOGIN PASSWORD %L', :'owner_password') \gexec
SELECT format('CREATE ROLE lockbox_app LOGIN PASSWORD %L', :'app_password') \gexec
CREATE DATABASE lockbox OWNER lockbox_owner;
SQL
