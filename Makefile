# dify-hub: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed

.PHONY: run test test-browser lint venv migrate bench faults fake-dify status

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

# The admin in headless Chromium at 1440 and 390 px (tests/browser; not part of `make test`).
# Needs Debian's chromium and chromium-driver; without them it says why and exits 0.
CHROMIUM ?= chromium
CHROMEDRIVER ?= chromedriver
BROWSER_STAMP := $(VENV)/.requirements-browser-installed
$(BROWSER_STAMP): requirements-browser.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-browser.txt
	@touch $(BROWSER_STAMP)

test-browser: venv
	@missing=""; \
	command -v $(CHROMIUM) >/dev/null 2>&1 || missing="$$missing $(CHROMIUM)"; \
	command -v $(CHROMEDRIVER) >/dev/null 2>&1 || missing="$$missing $(CHROMEDRIVER)"; \
	if [ -n "$$missing" ]; then \
	  echo "test-browser: skipped: not installed:$$missing (apt-get install chromium chromium-driver)"; \
	  exit 0; \
	fi; \
	$(MAKE) --no-print-directory $(BROWSER_STAMP) \
	  || { echo "test-browser: skipped: selenium could not be installed"; exit 0; }; \
	$(BIN)/python -m hub.localenv; \
	HUB_CHROMIUM="$$(command -v $(CHROMIUM))" HUB_CHROMEDRIVER="$$(command -v $(CHROMEDRIVER))" \
	  $(BIN)/pytest tests/browser $(PYTEST_ARGS)

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

# The admin's translations (简体中文, 日本語) in integrations/locale/: `make messages` gathers the
# hub's marked strings into the .po files (then translate the new entries), `make
# compilemessages` turns them into the .mo files Django reads; both are committed, so a fresh
# checkout needs no gettext tools. Both need GNU gettext (apt-get install gettext).
.PHONY: messages compilemessages
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=benchmarks --ignore=tools

messages: venv
	$(BIN)/python manage.py makemessages -l zh_Hans -l ja --no-obsolete --add-location=file $(MESSAGES_IGNORE)

compilemessages: venv
	$(BIN)/python manage.py compilemessages -l zh_Hans -l ja --ignore=.venv --ignore=var
