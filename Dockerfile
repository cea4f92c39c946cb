# syntax=docker/dockerfile:1
#
# The mmops container image.
#
#   docker build -t mmops:0.1.0 .
#   docker run --rm -e MM_URL=https://chat.example.com -e MM_BOT_TOKEN=… -p 3978:3978 mmops:0.1.0
#
# Image name: mmops:0.1.0 (the version of package.json; push it to your registry under that
# name). compose.yaml and the Kubernetes example in docs/deployment.md use this name.
# This repository's CI has no Docker engine: the image is not built there.
# test/package/dockerfile.test.ts checks what can be checked without one (every COPY source
# exists, the CMD is the packaged entry point, the user is not root).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: the full toolchain, the TypeScript compiled to dist/ ---------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY scripts ./scripts
RUN npm run build

# --- runtime: production dependencies and the built code only -------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/commands ./dist/commands
COPY manifest.json README.md LICENSE CHANGELOG.md SECURITY.md ./
COPY docs ./docs

# state (health watches) outside the image; the node user of the base image (uid 1000) owns it
RUN mkdir -p /var/lib/mmops && chown node:node /var/lib/mmops
VOLUME ["/var/lib/mmops"]
ENV MMOPS_STATE_DIR=/var/lib/mmops \
    MMOPS_LISTEN=0.0.0.0:3978
EXPOSE 3978
USER node

# liveness: GET /healthz on MMOPS_OPS_LISTEN, else MMOPS_LISTEN (src/healthcheck.ts)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "dist/src/cli.js", "healthcheck"]

# exec form, no shell in between: node is PID 1 and gets SIGTERM itself, so `docker stop`
# runs the graceful shutdown (in-flight commands finish, the leader lease is handed over)
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/cli.js"]
