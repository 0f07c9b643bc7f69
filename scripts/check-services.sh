#!/usr/bin/env bash
# Make sure the servers the suite talks to answer: PostgreSQL at 127.0.0.1:5432 (database `test`).
# Starts the local cluster if it is installed but stopped; says clearly what is missing otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_answers() {
  .venv/bin/python - <<'PY'
import sys
import psycopg
try:
    psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
PY
}
if ! pg_answers 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is not answering; starting the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_answers 2>/dev/null && break; sleep 1; done
  fi
fi
if ! pg_answers; then
  echo "PostgreSQL must answer at 127.0.0.1:5432 (trust auth, database test) for the storage and API tests" >&2
  exit 1
fi
echo "PostgreSQL answers at 127.0.0.1:5432"
