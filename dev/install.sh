#!/usr/bin/env bash
# Installs what adrail needs on a fresh Debian machine, and nothing twice:
#   - Deno 2.1.14 (the edge runtime's version) from the npm package `deno`, kept in .tools/
#   - PostgreSQL 15 with pg_cron and pgTAP (and pg_prove, only a Recommends of pgTAP) from Debian
# Safe to run again: each step checks first and a second run takes well under a second.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_version="2.1.14"
tools="$root/.tools"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

deno_bin() {
  # The npm package ships the binary in a per-platform optional dependency.
  ls "$tools"/node_modules/@deno/*/deno 2>/dev/null | head -n 1 || true
}

install_deno() {
  local bin
  bin="$(deno_bin)"
  if [ -n "$bin" ] && "$bin" --version 2>/dev/null | grep -q "deno $deno_version "; then
    return
  fi
  echo "adrail: installing Deno $deno_version into .tools/" >&2
  mkdir -p "$tools"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund \
    --prefix "$tools" "deno@$deno_version" >&2
  bin="$(deno_bin)"
  [ -n "$bin" ] || { echo "adrail: the deno npm package did not ship a binary for this platform" >&2; exit 1; }
  mkdir -p "$tools/bin"
  ln -sf "$bin" "$tools/bin/deno"
}

install_postgres() {
  local packages=()
  [ -x /usr/lib/postgresql/15/bin/postgres ] || packages+=(postgresql-15)
  [ -f /usr/share/postgresql/15/extension/pg_cron.control ] || packages+=(postgresql-15-cron)
  [ -f /usr/share/postgresql/15/extension/pgtap.control ] || packages+=(postgresql-15-pgtap)
  command -v pg_prove >/dev/null 2>&1 || packages+=(libtap-parser-sourcehandler-pgtap-perl)
  [ "${#packages[@]}" -eq 0 ] && return
  echo "adrail: installing ${packages[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >&2
  as_root apt-get install -y -qq "${packages[@]}" >&2
}

install_deno
install_postgres
