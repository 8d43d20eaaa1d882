#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, checks the contracts and the
# compose file, then runs the unit and integration tests (real NATS, Redis
# and runc; each integration file starts its own on free ports).
source "$(dirname "$0")/lib.sh"
ensure_platform_commands
ensure_commands docker-compose:docker-compose
ensure_node_modules
build
log "buf lint"
npx buf lint
log "vitest"
npx vitest run "$@"
