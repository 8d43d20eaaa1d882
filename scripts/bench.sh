#!/usr/bin/env bash
# `npm run bench:<name>`: installs what is missing, builds, then runs
# bench/<name>.mjs with the remaining arguments.
source "$(dirname "$0")/lib.sh"
name="$1"
shift
ensure_platform_commands
ensure_node_modules
build
exec node "$ROOT/bench/$name.mjs" "$@"
