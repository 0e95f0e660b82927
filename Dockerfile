# syntax=docker/dockerfile:1
# kmm's production image: gunicorn serving the Django app as a non-root user.
#   docker build -t kmm .
#   docker run -e KMM_SECRET_KEY=... -p 8000:8000 kmm
# Health is left to the chart's probes (/healthz, /readyz). The start command below is the one
# tests/test_image.py runs, so it is exercised in `make test` even without a Docker engine.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtualenv with the runtime requirements only, and the collected static files ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/kmm/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/kmm/venv/bin/pip install --require-virtualenv -r /tmp/requirements.txt
WORKDIR /opt/kmm/app
# The build context is the repository less .dockerignore (tests, dev tools, the chart, caches).
COPY . .
# Settings refuse to start without a secret key outside debug: a throwaway one serves the
# build only and is not kept in the image.
RUN KMM_SECRET_KEY="$(/opt/kmm/venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    /opt/kmm/venv/bin/python manage.py collectstatic --noinput \
 && /opt/kmm/venv/bin/python -m compileall -q /opt/kmm/app

# --- runtime ---
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 kmm \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin kmm
COPY --from=build /opt/kmm /opt/kmm
ENV PATH=/opt/kmm/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000 \
    KMM_WORKERS=2 \
    KMM_THREADS=4
WORKDIR /opt/kmm/app
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "-c", "kmm/gunicorn.conf.py", "kmm.wsgi"]
