#!/usr/bin/env bash
# `npm run up`: installs what is missing, builds, starts NATS and Redis when
# they are not already running, starts the five services, deploys and
# invokes the sample function, and keeps running until Ctrl-C.
source "$(dirname "$0")/lib.sh"
ensure_platform_commands
ensure_node_modules
build
install_cli
exec node "$ROOT/scripts/up.mjs" "$@"
