#!/usr/bin/env bash
# PostgreSQL for FerretDB's `pg` backend (test/support/ferretdb.ts uses it when it is there; the
# benchmark's --ferretdb-backend pg too): Debian's `postgresql` package, its default cluster started,
# and a role that may create databases (one per FerretDB instance, so instances never share state).
# Idempotent: every step checks before it acts. Needs root (apt-get, pg_ctlcluster) on first run.
#
# Afterwards: postgres://switchboard:switchboard@127.0.0.1:5432/postgres (role `switchboard`, CREATEDB).
# SWITCHBOARD_POSTGRES_URL overrides where the tests and the benchmark look.
set -euo pipefail

role="switchboard"
password="switchboard"

if ! dpkg -s postgresql >/dev/null 2>&1; then
  echo "installing Debian's postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null
fi

# The newest installed major version's cluster named main (Debian creates it with the package).
version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  echo "starting PostgreSQL $version (cluster main)"
  pg_ctlcluster "$version" main start
fi
port="$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')"

as_postgres() { runuser -u postgres -- "$@"; }
for attempt in $(seq 1 50); do
  as_postgres psql -p "$port" -Atqc "select 1" >/dev/null 2>&1 && break
  sleep 0.2
done
if [[ "$(as_postgres psql -p "$port" -Atqc "select 1 from pg_roles where rolname = '$role'")" != "1" ]]; then
  as_postgres psql -p "$port" -qc "create role $role login createdb password '$password'"
fi
echo "postgresql $version ready: postgres://$role:$password@127.0.0.1:$port/postgres"
