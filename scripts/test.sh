#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, checks the contracts,
# type-checks the tests, lints, then runs the unit and integration tests
# (real NATS, Redis and runc; each integration file starts its own on free
# ports), then the compose test (scripts/test-compose.sh).
source "$(dirname "$0")/lib.sh"
ensure_platform_commands
ensure_commands docker-compose:docker-compose
# The web console's browser tests (test/observe/console.test.ts) drive Debian's Chromium.
ensure_commands chromium:chromium
# kubectl kustomize renders deploy/kubernetes (test/static/kubernetes.test.ts).
ensure_commands kubectl:kubernetes-client
ensure_node_modules
build
log "buf lint, buf breaking"
npx buf lint
# Against the main branch: a change that would break deployed clients fails here.
if git -C "$ROOT" rev-parse --verify -q refs/heads/main >/dev/null; then
  npx buf breaking --against "$ROOT/.git#branch=main"
fi
# After the build: tests see the other workspaces through their declarations.
log "typecheck (tests and the sources they import)"
npm run --silent typecheck
log "eslint"
npm run --silent lint
log "vitest"
npx vitest run "$@"
# Last, the platform under Docker (minutes, not seconds), unless the
# arguments picked some tests only.
if [ $# -eq 0 ]; then
  bash "$ROOT/scripts/test-compose.sh"
else
  log "compose test not run: arguments picked tests (npm run test:compose runs it)"
fi
