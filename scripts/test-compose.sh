#!/usr/bin/env bash
# `npm run test:compose` (and the last step of `npm test`): compose.yaml run
# for real. Installs Docker's engine when it is missing, starts one of its
# own (scripts/docker/engine.sh), makes the base images once per machine
# (scripts/docker/offline-images.sh), then runs test/compose, which builds,
# starts, uses and takes down the platform with Compose. Whatever way it
# ends (a failed test, Ctrl-C, a CI's TERM), it takes the platform down,
# stops the engine, and fails when anything of them is left on the host.
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
# Compose's own variables, read by every compose command here and in the test.
export COMPOSE_PROJECT_NAME=faas-compose-test
export COMPOSE_FILE="$ROOT/compose.yaml:$ROOT/test/compose/host-network-builds.yaml"
export COMPOSE_PATH_SEPARATOR=:
# compose.yaml's funclet id: where it makes its sandboxes' cgroups on the host.
COMPOSE_FUNCLET_CGROUPS=faas/funclet-1
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

vitest_pid=""
# Removes the cgroups a funclet killed before cleaning up left on the host
# (empty once their processes are gone); prints those that will not go.
remove_funclet_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/"$COMPOSE_FUNCLET_CGROUPS" /sys/fs/cgroup/*/"$COMPOSE_FUNCLET_CGROUPS"; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
    if [ -d "$dir" ]; then echo "cgroup $dir still there"; fi
  done
}

teardown() {
  local status=$? leftovers
  trap - EXIT INT TERM
  if [ -n "$vitest_pid" ] && kill -0 "$vitest_pid" 2>/dev/null; then
    kill -TERM -- "-$vitest_pid" 2>/dev/null || true
    wait "$vitest_pid" 2>/dev/null || true
  fi
  if docker_engine_pid >/dev/null; then
    # The test takes the platform down itself; this is for when it could not.
    timeout 120 $FAAS_COMPOSE down -v --remove-orphans >>"$ROOT/.run/compose-test/compose.log" 2>&1 ||
      log "compose down failed (see .run/compose-test/compose.log)"
  fi
  docker_engine_stop
  leftovers="$(docker_engine_leftovers; remove_funclet_cgroups)"
  if [ -n "$leftovers" ]; then
    log "the compose test left this on the host:"
    sed 's/^/  /' <<<"$leftovers" >&2
    [ "$status" -ne 0 ] || status=1
  fi
  if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != "$ip_forward_before" ]; then
    # Not this engine's doing (it runs with --ip-forward=false); a funclet's
    # egress on this host turns it on.
    log "note: net.ipv4.ip_forward changed while the compose test ran"
  fi
  log "compose test: $((SECONDS - step_started)) s in all (base images $images_seconds s, tests $tests_seconds s)"
  exit "$status"
}

step_started=$SECONDS images_seconds=- tests_seconds=-
ip_forward_before="$(cat /proc/sys/net/ipv4/ip_forward)"
mkdir -p "$ROOT/.run/compose-test"
trap teardown EXIT
trap "exit 130" INT
trap "exit 143" TERM
docker_engine_start || { log "dockerd did not start (its log: $DOCKER_ENGINE_LOG)"; exit 1; }

started=$SECONDS
build_offline_images
images_seconds=$((SECONDS - started))
log "base images ready in $images_seconds s ($NODE_IMAGE, $NATS_IMAGE, $REDIS_IMAGE)"

log "compose test ($FAAS_COMPOSE; its commands' output in .run/compose-test/compose.log)"
started=$SECONDS
status=0
# In the background and in a process group of its own, so that a signal to
# this script reaches the teardown at once and the teardown can stop vitest
# and its workers together.
FAAS_COMPOSE_TEST=1 setsid "$ROOT/node_modules/.bin/vitest" run --project compose "$@" &
vitest_pid=$!
wait "$vitest_pid" || status=$?
vitest_pid=""
tests_seconds=$((SECONDS - started))

# Each build with other sources leaves the previous one's layers behind in
# the data root. Naming the stages that install dependencies keeps them (the
# next build's `npm ci`s come from them) when the untagged rest is pruned.
for stage in dependencies build; do
  docker build --quiet --network host --target "$stage" --build-arg "NODE_IMAGE=$NODE_IMAGE" \
    -t "faas-compose-test/$stage-stage" "$ROOT" >/dev/null 2>&1 || true
done
docker image prune --force >/dev/null || true
exit $status
