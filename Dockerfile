# redgrad services image (coordinator, worker) and CLI image.
#
#   docker build -t redgrad .                    # target "runtime" (last stage): the worker by default
#   docker build -t redgrad-cli --target cli .   # the redgrad command, with Fashion-MNIST installed
#
# The `build` stage compiles the TypeScript (devDependencies: typescript); the images ship only the
# compiled dist/ folders, the committed WebAssembly kernel and production dependencies, so no
# TypeScript toolchain (typescript, tsx, esbuild) is in them. Image sizes: docker/README.md.
#
# Run the services with an init process so signals and zombies are handled: compose sets
# `init: true`; with plain docker use `docker run --init ...`. (The services also install their own
# SIGTERM handlers, so they stop cleanly even as PID 1.)

# The current Node LTS line; the code itself runs on Node 20 and later (package.json engines).
ARG NODE_IMAGE=node:24-bookworm-slim

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

# ---- build: every dependency (install scripts skipped: tsc needs none), then `npm run build`
# (tsc project references, see tsconfig.build.json). /dist-tree collects what the images need from
# each workspace: package.json, dist/, bin/ and the built-in data sets, in the same layout.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /manifests/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs libs
COPY apps apps
RUN npm run build \
 && for ws in libs/* apps/*; do \
      mkdir -p /dist-tree/$ws && cp -r $ws/package.json $ws/dist /dist-tree/$ws/ \
      && rm -f /dist-tree/$ws/dist/.tsbuildinfo \
      && if [ -d $ws/bin ]; then cp -r $ws/bin /dist-tree/$ws/; fi; \
    done \
 && cp -r libs/data/builtin /dist-tree/libs/data/

# ---- app: compiled code + production node_modules, non-root.
FROM ${NODE_IMAGE} AS app
ENV NODE_ENV=production
WORKDIR /app
# Code and dependencies stay root-owned (read-only to the service user).
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY --from=build /dist-tree/ ./
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
