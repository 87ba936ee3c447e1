#!/usr/bin/env bash
# dev/daemon.sh PIDFILE LOGFILE COMMAND [ARGS...]
# Runs COMMAND in a session of its own, in the background, so it outlives the caller (Deno ends
# the children it spawned when it exits). PIDFILE gets its pid, which is also its process group.
set -euo pipefail
pidfile="$1"
log="$2"
shift 2
setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$log" 2>&1
