# Every service's image, one target each, from the repository root:
#   docker build --target <a folder of services/> .
# (compose.yaml builds each service so). NODE_IMAGE is the base: the public
# Node image by default, or one made offline (scripts/docker/offline-images.sh).
# The five images share one layer of production dependencies, made again only
# when a manifest changes, and one small layer of compiled code; only the
# funclet's adds packages.
ARG NODE_IMAGE=node:20-bookworm-slim

# The workspaces' package.json files and the lock file alone, so that the
# `npm ci`s below are redone when a dependency changes, not a source file.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp --parents package.json package-lock.json .npmrc packages/*/package.json services/*/package.json /manifests/

# What the services run with: the dependencies without the development ones
# (the workspaces' own node_modules too, where the lock file nests any).
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /src
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && mkdir /dependencies \
 && cp -a --parents node_modules $(ls -d packages/*/node_modules services/*/node_modules 2>/dev/null) /dependencies/

# The compiled code, each workspace's package.json and dist/ and nothing
# else: the one step a source change redoes.
FROM ${NODE_IMAGE} AS build
ENV TURBO_TELEMETRY_DISABLED=1
WORKDIR /src
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npx turbo run build --output-logs=errors-only \
 && mkdir /app \
 && cp -a --parents package.json packages/*/package.json packages/*/dist services/*/package.json services/*/dist /app/

FROM ${NODE_IMAGE} AS service
COPY --from=dependencies /dependencies/ /app/
COPY --from=build /app/ /app/
CMD ["node", "--import", "@faas/telemetry/register", "dist/main.js"]

FROM service AS stubs
WORKDIR /app/services/stubs

FROM service AS controller
WORKDIR /app/services/controller

FROM service AS queue-worker
WORKDIR /app/services/queue-worker

FROM service AS httptrigger
WORKDIR /app/services/httptrigger

# The funclet runs the sandboxes: runc runs them; ip and iptables build their
# network namespaces and egress; python3 is the python3 runtime and the
# funclet's mount helper; tini is every sandbox's PID 1. They are installed
# before the application is copied in, so that a code change does not install
# them again. Sandboxes do not see /usr/local, where Node images keep node:
# the nodejs runtime runs a copy in /usr/bin.
FROM ${NODE_IMAGE} AS funclet
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends runc iproute2 iptables python3 tini >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && if [ ! -e /usr/bin/node ]; then cp "$(readlink -f "$(command -v node)")" /usr/bin/node; fi
ENV FUNCLET_NODE_PATH=/usr/bin/node
COPY --from=dependencies /dependencies/ /app/
COPY --from=build /app/ /app/
WORKDIR /app/services/funclet
CMD ["node", "--import", "@faas/telemetry/register", "dist/main.js"]
