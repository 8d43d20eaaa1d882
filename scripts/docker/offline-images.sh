# Base images for compose.yaml on a machine that reaches no image registry,
# only a Debian mirror and the npm registry. Sourced after engine.sh; each
# image is made once and kept in the engine's data root, labelled with a hash
# of what it was made from (the recipe, as the function that makes it, and
# its inputs), and made again only when that hash changes: so a fresh clone
# finds the images the last run made, and a new comment here remakes none.
#
#   faas-offline/debian:<codename>  debootstrap --variant=minbase from the
#                                    mirror apt already uses
#   node:<major>-<codename>-slim     that root, the host's node and npm copied
#                                    in, trusting the host's CA bundle
#   faas-offline/nats:<codename>     Debian's nats-server (offline-images.Dockerfile)
#   faas-offline/redis:<codename>    Debian's redis-server (the same file)
#
# After build_offline_images, NODE_IMAGE, NATS_IMAGE and REDIS_IMAGE name
# them, for compose.yaml's variables.

OFFLINE_IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OFFLINE_LABEL=faas.offline.inputs

# The suite of the host, since the host's node binary must find the same
# C library in the image.
offline_suite() { (. /etc/os-release && echo "$VERSION_CODENAME"); }

# The Debian mirror apt already uses for that suite.
offline_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' |
    awk -v suite="$1" '$2 == suite { print $1; exit }'
}

hash_of() { sha256sum | cut -c1-16; }

# True when the image exists and was made from these inputs.
offline_image_current() {
  [ "$(docker image inspect --format "{{ index .Config.Labels \"$OFFLINE_LABEL\" }}" "$1" 2>/dev/null)" = "$2" ]
}

# A minbase root from the mirror, imported as an image.
offline_debian_image() {
  local image="$1" key="$2" suite="$3" mirror="$4"
  offline_image_current "$image" "$key" && return 0
  command -v debootstrap >/dev/null 2>&1 || ensure_commands debootstrap:debootstrap
  local root="$FAAS_DOCKER_DIR/build/debian-$key"
  rm -rf "$root"
  log "debootstrap $suite from $mirror (once per machine; about 2 minutes)"
  if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$FAAS_DOCKER_DIR/build/debootstrap.log" 2>&1; then
    tail -n 20 "$FAAS_DOCKER_DIR/build/debootstrap.log" >&2
    # debootstrap mounts /proc and /sys inside the root while it works.
    umount -R "$root/proc" "$root/sys" 2>/dev/null || true
    return 1
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  # Debian's rule for image builds: package scripts start no service (a
  # redis-server started by its package in a host-network build would take
  # the host's port 6379).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  tar -C "$root" -c . | docker import --change "LABEL $OFFLINE_LABEL=$key" --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
  rm -rf "$root"
}

# The Debian image with the host's node and npm, as the public node images
# lay them out (/usr/local), and the host's CA bundle, so that `npm ci` in a
# build reaches the registry through whatever the host trusts.
offline_node_image() {
  local image="$1" key="$2" debian="$3" node npm ca context
  node="$(readlink -f "$(command -v node)")"
  npm="$(npm root -g)/npm"
  ca=/etc/ssl/certs/ca-certificates.crt
  offline_image_current "$image" "$key" && return 0
  log "making $image from $debian and the host's node $(node --version)"
  rm -rf "$FAAS_DOCKER_DIR"/build/node-*  # an interrupted run's
  context="$(mktemp -d "$FAAS_DOCKER_DIR/build/node-XXXXXX")"
  mkdir -p "$context/usr/local/bin" "$context/usr/local/lib/node_modules" "$context/etc/ssl/certs"
  cp "$node" "$context/usr/local/bin/node"
  cp -a "$npm" "$context/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$context/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$context/usr/local/bin/npx"
  [ -f "$ca" ] && cp "$ca" "$context/etc/ssl/certs/ca-certificates.crt"
  # The Debian root plus these files, imported as one layer.
  local container
  container="$(docker create "$debian")"
  docker cp "$context/." "$container:/" >/dev/null
  docker export "$container" |
    docker import \
      --change "LABEL $OFFLINE_LABEL=$key" \
      --change "ENV NODE_EXTRA_CA_CERTS=$ca" \
      --change 'CMD ["node"]' - "$image" >/dev/null
  docker rm "$container" >/dev/null
  rm -rf "$context"
}

# NATS and Redis from Debian's packages, built on the Debian image.
offline_service_image() {
  local image="$1" key="$2" debian="$3" target="$4"
  offline_image_current "$image" "$key" && return 0
  log "building $image from Debian's packages"
  local build_log="$FAAS_DOCKER_DIR/build/$target.log"
  if ! docker build --network host --target "$target" \
    --build-arg "DEBIAN_IMAGE=$debian" --label "$OFFLINE_LABEL=$key" \
    -t "$image" -f "$OFFLINE_IMAGES_DIR/offline-images.Dockerfile" "$OFFLINE_IMAGES_DIR" >"$build_log" 2>&1; then
    tail -n 20 "$build_log" >&2
    return 1
  fi
}

build_offline_images() {
  local suite mirror script_key debian_key node_major
  suite="$(offline_suite)"
  mirror="$(offline_mirror "$suite")"
  [ -n "$mirror" ] || { log "no Debian mirror for $suite in apt's sources; set DEBIAN_MIRROR"; return 1; }
  mkdir -p "$FAAS_DOCKER_DIR/build"
  node_major="$(node -p 'process.versions.node.split(".")[0]')"

  debian_key="$( { declare -f offline_debian_image; echo "$suite $mirror"; } | hash_of)"
  local debian="faas-offline/debian:$suite"
  offline_debian_image "$debian" "$debian_key" "$suite" "$mirror" || return 1

  NODE_IMAGE="node:$node_major-$suite-slim"
  local node_key
  node_key="$( {
    echo "$debian_key"
    declare -f offline_node_image
    sha256sum <"$(readlink -f "$(command -v node)")"
    npm --version
    cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null
  } | hash_of)"
  offline_node_image "$NODE_IMAGE" "$node_key" "$debian" || return 1

  local services_key
  services_key="$( { echo "$debian_key"; declare -f offline_service_image; cat "$OFFLINE_IMAGES_DIR/offline-images.Dockerfile"; } | hash_of)"
  NATS_IMAGE="faas-offline/nats:$suite"
  REDIS_IMAGE="faas-offline/redis:$suite"
  offline_service_image "$NATS_IMAGE" "$services_key" "$debian" nats || return 1
  offline_service_image "$REDIS_IMAGE" "$services_key" "$debian" redis || return 1
  export NODE_IMAGE NATS_IMAGE REDIS_IMAGE
}
