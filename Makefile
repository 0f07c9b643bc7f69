# The two commands of a fresh machine: `make run` and `make test` (see README.md).
.PHONY: setup run test bench lint clean

setup:
	scripts/setup.sh

run: setup
	.venv/bin/camfleet demo

test:
	scripts/test.sh

bench: setup
	scripts/system-packages.sh bench
	scripts/check-services.sh
	.venv/bin/python bench/analysis_cost.py
	.venv/bin/python bench/sim_streams.py
	.venv/bin/python bench/sweep_throughput.py
	.venv/bin/python bench/api_latency.py

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
