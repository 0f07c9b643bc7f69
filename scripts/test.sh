#!/usr/bin/env bash
# The whole test suite: set up, check the servers, lint, type-check, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh test
scripts/setup.sh
scripts/check-services.sh
echo "== ruff"; .venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
# pytest exits 5 when it collected no test: that is a failure here, never hidden.
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
