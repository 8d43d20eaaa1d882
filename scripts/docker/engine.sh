# A Docker engine of the project's own, sourced by the scripts that need one
# (the compose test). It never touches the machine's Docker: its own data
# root, exec root, pid file, config file and unix socket, all under
# $FAAS_DOCKER_DIR, so a Docker the machine may already run is left alone
# and the images it builds stay cached there for the next run.
#
# It leaves the host's firewall as it found it: no iptables rules, no NAT,
# no ip_forward change, no docker0 bridge. Containers talk to each other on
# their compose network and to the host through published loopback ports,
# and nothing else; builds that need the package registries use the host's
# network (`network: host`), reaching them exactly as the host does.

FAAS_DOCKER_DIR="${FAAS_DOCKER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faas-engine/docker}"
DOCKER_ENGINE_RUN="$FAAS_DOCKER_DIR/run"
DOCKER_ENGINE_LOG="$DOCKER_ENGINE_RUN/dockerd.log"
export DOCKER_HOST="unix://$DOCKER_ENGINE_RUN/docker.sock"
# The client's own config folder, so the user's ~/.docker (credentials,
# contexts) plays no part and is not written.
export DOCKER_CONFIG="$FAAS_DOCKER_DIR/client"

# Why Docker's engine cannot run on this machine, or nothing when it can.
docker_engine_unavailable() {
  if [ "$(uname -s)" != Linux ]; then echo "Docker's engine needs Linux, and this is $(uname -s)"; return; fi
  if [ "$(id -u)" -ne 0 ]; then echo "dockerd needs root, and this runs as $(id -un)"; return; fi
  # Bit 21 of the effective set: CAP_SYS_ADMIN, which mounts and namespaces need.
  local effective
  effective="$(awk '/^CapEff:/ { print $2 }' /proc/self/status)"
  if (( (16#$effective >> 21 & 1) == 0 )); then echo "no CAP_SYS_ADMIN here (a container without it?)"; return; fi
  if [ ! -d /sys/fs/cgroup ] || [ -z "$(ls -A /sys/fs/cgroup)" ]; then echo "no cgroup file system at /sys/fs/cgroup"; return; fi
}

# Installs Debian's docker.io (dockerd, containerd, docker-init) when dockerd is
# missing, without letting its package scripts start the machine's Docker.
ensure_docker_engine_package() {
  command -v dockerd >/dev/null 2>&1 && return 0
  log "installing Debian packages: docker.io"
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # Debian's rule: while this exits 101, package scripts start no service.
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard"
  fi
  local status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null; } || status=1
  [ -z "$guard" ] || rm -f "$guard"
  return $status
}

docker_engine_pid() {
  local pid
  pid="$(cat "$DOCKER_ENGINE_RUN/dockerd.pid" 2>/dev/null)" || return 1
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Starts the engine and waits until it answers; returns 1 (its log's end
# printed) when it would not come up.
docker_engine_start() {
  mkdir -p "$DOCKER_ENGINE_RUN" "$FAAS_DOCKER_DIR/data" "$DOCKER_CONFIG"
  if docker_engine_pid >/dev/null; then
    log "a previous run's dockerd is still up; stopping it first"
    docker_engine_stop
  fi
  # What a killed run left mounted would be stacked on again.
  docker_engine_unmount
  # An empty config file: /etc/docker/daemon.json, if the machine has one,
  # is the machine's Docker's business.
  echo '{}' >"$DOCKER_ENGINE_RUN/daemon.json"
  dockerd \
    --config-file "$DOCKER_ENGINE_RUN/daemon.json" \
    --host "$DOCKER_HOST" \
    --data-root "$FAAS_DOCKER_DIR/data" \
    --exec-root "$DOCKER_ENGINE_RUN/exec" \
    --pidfile "$DOCKER_ENGINE_RUN/dockerd.pid" \
    --bridge none --iptables=false --ip-forward=false --ip-masq=false \
    --log-level warn \
    >"$DOCKER_ENGINE_LOG" 2>&1 </dev/null &
  DOCKER_ENGINE_STARTED_PID=$!
  local tries
  for tries in $(seq 1 120); do
    if docker version >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$DOCKER_ENGINE_STARTED_PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  tail -n 20 "$DOCKER_ENGINE_LOG" >&2
  docker_engine_stop
  return 1
}

# Stops the engine (and the containerd it started), waiting for it to exit.
docker_engine_stop() {
  local pid tries
  pid="$(docker_engine_pid)" || pid="${DOCKER_ENGINE_STARTED_PID:-}"
  [ -n "$pid" ] || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    for tries in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd $pid did not stop in 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  docker_engine_unmount
}

# dockerd leaves the host's network namespace bound at <exec root>/netns/default
# when it stops (and container mounts too when it was killed): unmount what is
# under its folders, deepest first.
docker_engine_unmount() {
  local target
  awk -v dir="$FAAS_DOCKER_DIR/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r target; do umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true; done
}
