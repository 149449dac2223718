# redgrad services image (coordinator, worker) and CLI image.
#
#   docker build -t redgrad .                    # target "runtime" (last stage): the worker by default
#   docker build -t redgrad-cli --target cli .   # the redgrad command, with Fashion-MNIST installed
#
# TypeScript runs directly through tsx (a production dependency), so there is no compile step and no
# stage needs the devDependencies (vitest, typescript, assemblyscript, testcontainers): the built
# WebAssembly kernel libs/nn/src/kernels/wasm/gemm.wasm is committed and copied in with the sources.
#
# Run the services with an init process so signals and zombies are handled: compose sets
# `init: true`; with plain docker use `docker run --init ...`. (The services also install their own
# SIGTERM handlers, so they stop cleanly even as PID 1.)

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: the workspace package.json files, collected so the dependency layer below is
# rebuilt only when a manifest changes (not on every source edit), and new workspaces are picked
# up without editing this file.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY libs libs
COPY apps apps
RUN mkdir -p /manifests \
 && find libs apps -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /manifests/ \;

# ---- prod-deps: production dependencies only. npm ci links each workspace as
# node_modules/@redgrad/<name> -> ../../libs/<name> (or ../../apps/<name>); the links are relative,
# so they resolve once the sources are copied next to node_modules in the final stage.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- app: sources + production node_modules, non-root.
FROM ${NODE_IMAGE} AS app
ENV NODE_ENV=production
WORKDIR /app
# Code and dependencies stay root-owned (read-only to the service user).
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY libs libs
COPY apps apps
COPY docker/healthcheck.mjs docker/healthcheck.mjs
# Mount points for the CLI (data in, exported models out); owned by the service user so a named
# volume mounted there is writable.
RUN mkdir -p /app/data /app/out && chown node:node /app/data /app/out
USER node

# ---- cli: the redgrad command. Fashion-MNIST (Debian's dataset-fashion-mnist, ~30 MB) is
# installed so examples/fashion-mnist.json can be submitted; build with
# --build-arg FASHION_MNIST=0 to leave it out.
FROM app AS cli
ARG FASHION_MNIST=1
USER root
RUN if [ "$FASHION_MNIST" = "1" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends dataset-fashion-mnist \
      && rm -rf /var/lib/apt/lists/*; \
    fi
USER node
COPY examples examples
ENTRYPOINT ["node", "apps/cli/bin/redgrad.js"]
CMD ["--help"]

# ---- runtime (default target): coordinator and worker. The command picks the service:
#   worker:      node apps/worker/bin/redgrad-worker.js   (default)
#   coordinator: node apps/coordinator/bin/redgrad-coordinator.js
FROM app AS runtime
# Healthy = this container reaches Redis at REDIS_URL (docker/healthcheck.mjs PINGs it).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs"]
CMD ["node", "apps/worker/bin/redgrad-worker.js"]
