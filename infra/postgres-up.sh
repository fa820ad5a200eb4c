#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests (tests/test_postgres_store.py and the loop
# test create and drop databases of their own), then print the URL they should use (DATABASE_TEST_URL).
# Idempotent: a server that is up and reachable is left as it is. Starting one needs root (service postgresql start).
set -euo pipefail
url="${DATABASE_TEST_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
pg_isready -q -h 127.0.0.1 -p 5432 || service postgresql start >&2
for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
if ! psql "$url" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    # the server wants a password: a role that may create databases gets one
    runuser -u postgres -- psql -qc "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'events_test')
        THEN CREATE ROLE events_test LOGIN CREATEDB PASSWORD 'events_test'; END IF; END \$\$" >&2
    url=postgresql://events_test:events_test@127.0.0.1:5432/postgres
fi
echo "$url"
