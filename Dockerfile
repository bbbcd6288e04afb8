# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends gcc make libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 newsroom
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=newsroom:newsroom config ./config
COPY --chown=newsroom:newsroom templates ./templates
COPY --chown=newsroom:newsroom samples ./samples
ENV PATH=/opt/venv/bin:$PATH \
    NEWSROOM_CONFIG=/app/config/newsroom.toml \
    NEWSROOM_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
RUN mkdir /data && chown newsroom:newsroom /data
USER newsroom
ENTRYPOINT ["newsroom"]
CMD ["--help"]
