# Every service's image, from the repository root as the build context:
#   docker build --build-arg SERVICE=<a folder of services/> .
# (compose.yaml builds each service so). The build stage takes no argument,
# so the five images share one install and one build.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx turbo run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ARG SERVICE
RUN : "${SERVICE:?build with --build-arg SERVICE=<a folder of services/>}"
# The funclet runs the sandboxes: runc runs them; ip and iptables build their
# network namespaces and egress; python3 is the python3 runtime and the
# funclet's mount helper; tini is every sandbox's PID 1.
RUN if [ "$SERVICE" = funclet ]; then \
      apt-get update && apt-get install -y --no-install-recommends runc iproute2 iptables python3 tini && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
COPY --from=build /src/services/${SERVICE} ./services/${SERVICE}
WORKDIR /app/services/${SERVICE}
CMD ["node", "--import", "@faas/telemetry/register", "dist/main.js"]
