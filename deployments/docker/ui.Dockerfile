# syntax=docker/dockerfile:1
# The Mimir UI: the static site in ui/ served by unprivileged nginx, which also proxies /api
# and /mcp to the mimir-api Service. Build from the repository root:
#   docker build -f deployments/docker/ui.Dockerfile -t ghcr.io/mimir-aip/mimir-ui:0.1.0 .

# The UI's npm assets (Swagger UI for the offline API docs), from the lockfile only.
FROM docker.io/library/node:22.12.0-alpine3.21 AS npm
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM docker.io/library/alpine:3.21.3 AS assets
WORKDIR /site
COPY ui/ ./
COPY --from=npm /ui/node_modules/ ./node_modules/
# Pre-compressed copies for nginx's gzip_static; the originals stay for clients without gzip.
RUN find . -type f \( -name '*.html' -o -name '*.js' -o -name '*.mjs' -o -name '*.css' \
        -o -name '*.svg' -o -name '*.json' \) -exec sh -c 'gzip -9 -c "$1" > "$1.gz"' _ {} \;

FROM docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine AS runtime
LABEL org.opencontainers.image.title="mimir-ui" \
      org.opencontainers.image.description="Mimir AIP web UI" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY deployments/docker/ui-nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=assets /site/ /usr/share/nginx/html/
USER 101:101
EXPOSE 8080
