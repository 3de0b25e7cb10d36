# syntax=docker/dockerfile:1
# The Mimir image: the API (default command), the Prefect server, the Prefect worker and every
# flow-run pod run from it; the Kubernetes manifests only change the command.
# Build from the repository root:
#   docker build -f deployments/docker/api.Dockerfile -t ghcr.io/mimir-aip/mimir:0.1.0 .

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM docker.io/library/python:3.11.11-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never
RUN uv venv --python /usr/local/bin/python3.11 /opt/mimir
# PyTorch first, and only the CPU build from PyTorch's CPU index: the constraint below makes any
# later resolution that wants another torch (a CUDA wheel from PyPI) fail instead of pulling it.
RUN printf 'torch==2.13.0+cpu\n' > /opt/constraints.txt \
 && uv pip install --python /opt/mimir/bin/python \
        --index-url https://download.pytorch.org/whl/cpu --constraint /opt/constraints.txt \
        torch==2.13.0+cpu
WORKDIR /src
# Dependencies in their own layer: code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN uv pip install --python /opt/mimir/bin/python --constraint /opt/constraints.txt \
        --requirements pyproject.toml
COPY mimir_api/ mimir_api/
COPY flows/ flows/
COPY domain/ domain/
COPY blocks/ blocks/
COPY ontology/ ontology/
COPY twin/ twin/
COPY storage_plugins/ storage_plugins/
COPY ml/ ml/
RUN uv pip install --python /opt/mimir/bin/python --constraint /opt/constraints.txt --no-deps .

FROM docker.io/library/python:3.11.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="mimir" \
      org.opencontainers.image.description="Mimir AIP: API, Prefect worker and flow runs" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 mimir \
 && useradd --system --uid 10001 --gid mimir --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin mimir
COPY --from=build /opt/mimir /opt/mimir
# The root filesystem is read-only on Kubernetes: everything writable lives under /tmp and
# MIMIR_HOME, both volumes there.
ENV PATH=/opt/mimir/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    PREFECT_HOME=/tmp/prefect \
    PREFECT_UI_STATIC_DIRECTORY=/tmp/prefect-ui \
    MIMIR_HOME=/var/lib/mimir \
    MIMIR_HOST=0.0.0.0 \
    MIMIR_PORT=8080
WORKDIR /app
# For operators without a local Python: `prefect deploy --prefect-file /app/prefect.yaml` and
# the work pool template, runnable with `kubectl exec` (deployments/README.md).
COPY prefect.yaml /app/prefect.yaml
COPY deployments/work-pool/mimir-k8s.json /app/work-pool/mimir-k8s.json
USER 10001:10001
EXPOSE 8080
CMD ["uvicorn", "mimir_api.api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8080"]
