#!/usr/bin/env bash
# `npm run test:compose` (and the last step of `npm test`): compose.yaml run
# for real. Installs Docker's engine when it is missing, starts one of its
# own (scripts/docker/engine.sh), makes the base images once per machine
# (scripts/docker/offline-images.sh), then runs test/compose, which builds,
# starts, uses and takes down the platform with Compose.
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/docker/engine.sh"
source "$ROOT/scripts/docker/offline-images.sh"

skip() {
  log "compose test skipped: $*"
  exit 0
}

reason="$(docker_engine_unavailable)"
[ -z "$reason" ] || skip "$reason"
if ! ensure_docker_engine_package; then skip "Debian's docker.io could not be installed"; fi
# Compose v2 when the docker CLI has it, else Debian's Compose 1.29.
if docker compose version >/dev/null 2>&1; then
  export FAAS_COMPOSE="docker compose"
else
  ensure_commands docker-compose:docker-compose
  export FAAS_COMPOSE=docker-compose
fi
ensure_node_modules
build

mkdir -p "$FAAS_DOCKER_DIR"
# One compose test at a time on a machine: they share the engine's data root,
# its published ports and the funclet's cgroups.
exec 9>"$FAAS_DOCKER_DIR/lock"
if ! flock -n 9; then
  log "another compose test is running; waiting for it"
  flock 9
fi

docker_engine_start || { log "dockerd did not start (its log: $DOCKER_ENGINE_LOG)"; exit 1; }
trap docker_engine_stop EXIT
# A signal still runs the EXIT trap, so the engine never outlives the test.
trap "exit 130" INT TERM

started=$SECONDS
build_offline_images
log "base images ready in $((SECONDS - started)) s ($NODE_IMAGE, $NATS_IMAGE, $REDIS_IMAGE)"

log "compose test ($FAAS_COMPOSE; its commands' output in .run/compose-test/compose.log)"
status=0
FAAS_COMPOSE_TEST=1 npx vitest run --project compose "$@" || status=$?

# Each build with other sources leaves the previous one's layers behind in
# the data root. Naming the build stage keeps it (the next build's `npm ci`
# comes from it) when the untagged rest is pruned.
docker build --quiet --network host --target build --build-arg "NODE_IMAGE=$NODE_IMAGE" \
  -t faas-compose-test/build-stage "$ROOT" >/dev/null 2>&1 || true
docker image prune --force >/dev/null || true
exit $status
