# NATS and Redis from Debian's packages, for compose.yaml where the public
# images cannot be pulled (scripts/docker/offline-images.sh builds them on
# its debootstrapped Debian image). They take the same command lines and
# answer the same health checks as nats:2.10-alpine and redis:7-alpine.
ARG DEBIAN_IMAGE

FROM ${DEBIAN_IMAGE} AS nats
# wget: compose.yaml's health check asks the monitoring port with it, as it
# does busybox's in the public image.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nats-server wget >/dev/null \
 && rm -rf /var/lib/apt/lists/*
EXPOSE 4222 8222
ENTRYPOINT ["nats-server"]
CMD ["-m", "8222"]

FROM ${DEBIAN_IMAGE} AS redis
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
# As the public image: no configuration file, so reachable from the other
# containers (protected mode refuses every non-loopback client without a password).
CMD ["redis-server", "--protected-mode", "no"]
