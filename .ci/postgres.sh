#!/usr/bin/env bash
# The PostgreSQL server binaries the session-store tests start a throw-away cluster with
# (tests/pg_server.py: initdb into a temporary directory, a Unix socket, stopped at the end).
# Installs the Debian package when missing; the package's own default cluster is not used.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
id postgres >/dev/null 2>&1 || { echo "the postgresql package did not create the postgres user" >&2; exit 1; }
