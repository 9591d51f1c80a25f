# dcsync in a container: `docker build -t dcsync .`, then run it with the configuration mounted at
# /config/dcsync.yaml and the secrets in the environment (docs/deployment.md, Containers).
#
# Kept minimal on purpose: this repository's CI cannot reach a container registry, so this file is
# not built there. NODE_VERSION defaults to the current LTS line; 20.19+ and 22.12+ work too
# (`--build-arg NODE_VERSION=20`).
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /opt/dcsync
# better-sqlite3 compiles from source when no prebuilt binary for this Node.js line is at hand.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-slim
ENV NODE_ENV=production
WORKDIR /opt/dcsync
COPY --from=build /opt/dcsync/package.json ./
COPY --from=build /opt/dcsync/node_modules ./node_modules
COPY --from=build /opt/dcsync/dist ./dist
# The official image's unprivileged user; the application files stay owned by root (read-only to it).
USER node
EXPOSE 8080
CMD ["node", "dist/src/cli/main.js", "run", "--config", "/config/dcsync.yaml"]
