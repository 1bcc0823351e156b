# dify-hub: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed

.PHONY: run test lint venv migrate bench faults fake-dify status

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dify-hub needs Python 3.11 or newer (set PYTHON=python3.x)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

migrate: venv
	@$(BIN)/python -m hub.localenv
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py hub ensure-admin
	@$(BIN)/python -m hub.processes supervisord >/dev/null
	@echo "dify-hub: admin at http://$${HUB_BIND:-127.0.0.1:8000}/admin/  (Ctrl-C stops web, workers and beat)"
	exec $(BIN)/supervisord -n -c var/supervisord.conf

test: venv
	@$(BIN)/python -m hub.localenv
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Benchmarks against PostgreSQL and Redis (started if they are not up); writes
# benchmarks/RESULTS.md. Never part of `make test`: figures, not pass/fail.
bench: venv
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	@bash .ci/services.sh
	@$(BIN)/python -m hub.localenv
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# What `make run` supervises, and since when (in another terminal).
status: venv
	$(BIN)/supervisorctl -c var/supervisord.conf status

# The hub under injected faults (broker outage, killed worker, PostgreSQL restart, Dify
# gateway errors, hostile requests) on a private PostgreSQL and Redis; writes
# benchmarks/FAULTS.md. Figures, not pass/fail.
faults: venv
	@$(BIN)/python -m hub.localenv
	$(BIN)/python benchmarks/faults.py $(FAULTS_ARGS)

# A fake Dify on http://127.0.0.1:5001/v1 (key app-demo) for trying the hub without a real one.
fake-dify: venv
	$(BIN)/python -m tests.fakes.dify --port 5001 --api-key app-demo
