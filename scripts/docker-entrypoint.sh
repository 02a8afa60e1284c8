#!/bin/sh
# Entry point of the container image: one image, the role is the first argument.
#
#   web          ASGI server (HTTP + WebSockets) on $PORT (default 8000); detailed health and
#                /metrics on $INTERNAL_PORT (default 9100, todo_project/internal.py), never public
#   worker       Celery worker (metrics of all its pool processes on $WORKER_METRICS_PORT)
#   beat         Celery beat, the one scheduler (run exactly one)
#   migrate      apply database migrations, then exit
#   manage ARGS  any `manage.py` command, e.g. `manage createsuperuser`
#   healthcheck  the image's HEALTHCHECK: probes whatever role PID 1 runs
#   anything else is executed as given (e.g. `sh` for debugging)
#
# Extra arguments after the role are passed on to the process, e.g. `worker --concurrency=4`.
# The commands are the ones `make run` uses (devstack/__main__.py), so dev and prod run the same way.
set -eu

# Production unless told otherwise (the Dockerfile sets the same): with DEBUG off the settings
# refuse to start without DJANGO_SECRET_KEY and ALLOWED_HOSTS, or with the development key.
export DJANGO_DEBUG="${DJANGO_DEBUG:-false}"

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    # One uvicorn process per core (WEB_CONCURRENCY, default: the cores this container may use).
    # uvicorn's own supervisor rather than gunicorn: no extra dependency, the same command as
    # `make run`, WebSockets served the same way, and it restarts a worker that dies.  Their request
    # metrics add up through prometheus_client's multiprocess mode (a folder per container, emptied
    # here: files of an earlier run would count twice); one of them serves the internal port.
    export WEB_CONCURRENCY="${WEB_CONCURRENCY:-$(nproc)}"
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus-web}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
    # A pool of database connections per process (todo_project/settings.py DATABASE_POOL_MAX_SIZE).
    export DATABASE_POOL_MAX_SIZE="${DATABASE_POOL_MAX_SIZE:-8}"
    # uvicorn's supervisor restarts a process that fails to import the app, for ever, and keeps the
    # port open: a bad setting would leave a pod that is alive and never ready.  Import the app once
    # here (about a second) so that such a container exits with the error instead.
    INTERNAL_PORT=0 python -c 'import todo_project.asgi'
    exec python -m uvicorn todo_project.asgi:application \
      --host 0.0.0.0 --port "${PORT:-8000}" --workers "$WEB_CONCURRENCY" \
      --proxy-headers --timeout-graceful-shutdown "${WEB_GRACEFUL_SHUTDOWN_SECONDS:-25}" "$@"
    ;;
  worker)
    # The pool processes count jobs in prometheus_client's multiprocess mode (workers/metrics.py):
    # one folder per container, emptied by the worker when it starts.  Only the worker sets it.
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus-worker}"
    # -Q: every queue of CELERY_TASK_QUEUES (todo_project/settings.py) unless told otherwise.
    exec python -m celery -A todo_project worker \
      --loglevel="${LOG_LEVEL:-INFO}" --concurrency="${CELERY_CONCURRENCY:-2}" \
      -Q "${CELERY_WORKER_QUEUES:-events,default,live,maintenance,webhooks}" \
      --hostname="worker@%h" "$@"
    ;;
  beat)
    # The schedule file lives in /tmp: the root file system is read-only in Kubernetes.
    exec python -m celery -A todo_project beat \
      --loglevel="${LOG_LEVEL:-INFO}" --schedule="${CELERY_BEAT_SCHEDULE:-/tmp/celerybeat-schedule}" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  healthcheck)
    # PID 1 is the role's process (every branch above execs), so its command line tells the role.
    cmdline="$(tr '\0' ' ' < /proc/1/cmdline)"
    case "$cmdline" in
      *uvicorn*)
        exec python -c 'import os, sys, urllib.request
url = "http://127.0.0.1:%s/healthz" % os.environ.get("PORT", "8000")
try:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "localhost"}), timeout=8) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)'
        ;;
      *celery*" worker"*)
        exec python -m celery -A todo_project inspect ping --timeout 5 --destination "worker@$(cat /proc/sys/kernel/hostname)"
        ;;
      *)
        # beat, migrate, manage: nothing to probe; the process exiting is the signal.
        exit 0
        ;;
    esac
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
