# Shared set-up for scripts/up.sh and scripts/test.sh: installs what the
# platform needs on a fresh Debian machine, so that each is one command.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# runc lives in /usr/sbin, which non-login shells may not have on PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NEXT_TELEMETRY_DISABLED=1

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the Debian packages named by the missing commands ("cmd:package").
ensure_commands() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_platform_commands() {
  # python3 sandboxes run Debian's /usr/bin/python3 (a pyenv shim on PATH would not do).
  # iptables: opt-in egress (NAT and isolation rules for the sandboxes' bridge).
  # tini: every sandbox's PID 1 (reaps orphans, forwards signals to the agent).
  # redis-sentinel: CLUSTER=1 npm run up and the failover tests (Redis with Sentinel).
  # openssl: FAAS_MTLS=1 npm run up makes the services' CA and certificate; the TLS tests make theirs.
  ensure_commands openssl:openssl runc:runc nats-server:nats-server redis-server:redis-server redis-sentinel:redis-sentinel ip:iproute2 iptables:iptables /usr/bin/python3:python3 /usr/bin/tini:tini
}

# npm packages: (re)install when node_modules is missing or older than the lock file.
ensure_node_modules() {
  cd "$ROOT"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

build() {
  cd "$ROOT"
  log "building"
  npx turbo run build --output-logs=errors-only
}

# Puts `faas` (packages/cli) on the PATH, in npm's global bin folder, as
# `npm link` from a clone would.
install_cli() {
  local bin
  bin="$(npm prefix -g)/bin"
  if ln -sf "$ROOT/packages/cli/dist/main.js" "$bin/faas" 2>/dev/null; then
    log "faas is installed as $bin/faas"
  else
    log "could not write $bin/faas; run the CLI as node $ROOT/packages/cli/dist/main.js"
  fi
}
