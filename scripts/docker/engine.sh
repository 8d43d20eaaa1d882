# A Docker engine of the project's own, sourced by the scripts that need one
# (the compose test). It never touches the machine's Docker: its own data
# root, exec root, pid file, config file and unix socket, all under
# $FAAS_DOCKER_DIR, so a Docker the machine may already run is left alone
# and the images it builds stay cached there for the next run.
#
# That folder is the machine's, not a checkout's or a user's: dockerd runs as
# root anyway, and every clone on the machine (CI's fresh ones included)
# finds the images the last run made, whatever HOME it runs with.
#
# It leaves the host's firewall as it found it: no iptables rules, no NAT,
# no ip_forward change, no docker0 bridge. Containers talk to each other on
# their compose network and to the host through published loopback ports
# (the compose test also turns forwarding off on that network's bridge, so
# nothing they send is routed beyond the host); builds that need the
# package registries use the host's network (`network: host`), reaching
# them exactly as the host does.

FAAS_DOCKER_DIR="${FAAS_DOCKER_DIR:-/var/cache/faas-engine/docker}"
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
  DOCKER_ENGINE_HOST_NETWORK="$(docker_engine_host_network)"
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

# Stops the engine (and the containerd it started), waiting for it to exit,
# then removes what it leaves on the host: its networks' bridges (a network
# outlives the engine, and compose did not get to take it down when the test
# was interrupted) and its mounts.
docker_engine_stop() {
  local pid tries bridges=""
  pid="$(docker_engine_pid)" || pid="${DOCKER_ENGINE_STARTED_PID:-}"
  [ -n "$pid" ] || return 0
  # Started with --bridge none, the engine's only bridge networks are those
  # compose made.
  bridges="$(docker network ls --quiet --filter driver=bridge 2>/dev/null | sed 's/^/br-/')" || true
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
  local bridge
  for bridge in $bridges; do
    ip link show "$bridge" >/dev/null 2>&1 && { ip link delete "$bridge" 2>/dev/null || true; }
  done
  DOCKER_ENGINE_BRIDGES="$bridges"
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

# The iptables rules and chains a Docker engine adds when let (this one is
# not), to tell afterwards that none appeared.
docker_engine_host_network() {
  if command -v iptables-save >/dev/null 2>&1; then
    iptables-save 2>/dev/null | grep -E 'DOCKER|docker0|br-[0-9a-f]{12}' | sort || true
  fi
}

# Prints what the engine left on the host after docker_engine_stop, one line
# each; prints nothing when it left nothing.
docker_engine_leftovers() {
  local pid bridge
  if pid="$(docker_engine_pid)"; then echo "dockerd $pid still running"; fi
  # containerd and its shims name the engine's exec root on their command lines.
  # (grep finds its own command line too, but is gone when it is read again.)
  local command
  for pid in $(grep -lsF "$DOCKER_ENGINE_RUN/" /proc/[0-9]*/cmdline | cut -d/ -f3); do
    command="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || continue
    case "$command" in *"$DOCKER_ENGINE_RUN/"*) echo "process $pid still running: $command" ;; esac
  done
  awk -v dir="$FAAS_DOCKER_DIR/" 'index($5, dir) == 1 { print "still mounted: " $5 }' /proc/self/mountinfo
  for bridge in ${DOCKER_ENGINE_BRIDGES:-}; do
    if ip link show "$bridge" >/dev/null 2>&1; then echo "bridge $bridge still there"; fi
  done
  if [ -n "${DOCKER_ENGINE_HOST_NETWORK+set}" ]; then
    diff <(echo "$DOCKER_ENGINE_HOST_NETWORK") <(docker_engine_host_network) | sed -n 's/^> /iptables rule added: /p' || true
  fi
}
