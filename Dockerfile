# whipcast: one image for every role (CONTRACT.md). `npm start` runs api+ingest+worker,
# `npm run worker` a worker only; docker-compose.yml wires them to Redis and MinIO.
FROM node:20-bookworm-slim

# Debian's ffmpeg (libx264, and NVENC/VA-API/QSV compiled in: the start-up probe proves which
# work on this machine), redis-server for the embedded default (REDIS_URL unset), and
# util-linux's setpriv, which ties every ffmpeg to its worker's life.
# EXTRA_APT_PACKAGES adds hardware user-space drivers, e.g. "mesa-va-drivers" (AMD VA-API)
# or "intel-media-va-driver" (Intel VA-API); docker-compose.dri.yml passes them.
ARG EXTRA_APT_PACKAGES=""
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    ffmpeg redis-server util-linux ca-certificates ${EXTRA_APT_PACKAGES} \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, so a source change keeps this layer. Dev dependencies stay: `npm start`
# and `npm run worker` build (tsc) before they run.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY player ./player
COPY presets ./presets
RUN npm run build && mkdir -p /data && chown -R node:node /data /app

USER node
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8080
VOLUME ["/data"]
EXPOSE 8080
CMD ["npm", "start"]
