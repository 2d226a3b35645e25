# syntax=docker/dockerfile:1.7
# CALI container image: `docker build -t cali .`
#
# Three stages: `build` compiles with the dev toolchain (tspc + the typia
# transform), `deps` installs production dependencies only, and the final
# stage copies the compiled output and those dependencies onto a clean base.
# Nothing in the final stage needs npm, a compiler or a writable root
# filesystem; Kubernetes probes check health (no HEALTHCHECK here).

# Node 24 LTS on Debian (the CLI's shebang is `#!/usr/bin/env -S node --`,
# which needs GNU env; Alpine's busybox env has no -S). Pinned by version;
# Renovate/Dependabot bumps it, and CI may pin the digest on top.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NODE_ENV=development
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/ scripts/
COPY src/ src/
COPY bench/ bench/
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency needs an install script, and the
# image must not run code fetched at build time beyond what the lockfile pins.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node (which then finishes batches,
# checkpoints and releases its leases) and reaps zombies. Node as PID 1 would
# get no default signal handling from the kernel for signals it does not handle.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    CALI_METRICS_PORT=9464
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The runbooks the consumer's init container ingests into its knowledge base.
COPY --chown=root:root runbooks/ ./runbooks/
# The code is owned by root and read-only for the runtime user: a compromised
# process cannot rewrite it, and the root filesystem can be mounted read-only
# (Kubernetes gives /tmp as an emptyDir).
# Numeric UID/GID (the image's `node` user): Kubernetes' runAsNonRoot can
# verify a number, not a name.
USER 1000:1000
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "--", "/app/dist/src/cli/main.js"]
CMD ["run"]
