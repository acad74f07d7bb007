# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production \
    VAR_DIR=/app/var

# WeasyPrint's text stack, a CJK font for Chinese PDFs, fast font subsetting, gettext for catalogues.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei gettext curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .
COPY . .
# Build-time steps need a key; the real one comes from the environment at run time.
RUN for app in dealership appointments reception workorders workshop delivery followup reports demo; do \
      (cd $app && [ -d locale ] && python ../manage.py compilemessages -v0 || true); done \
 && python manage.py compilemessages -v0 --ignore var || true
RUN SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    ALLOWED_HOSTS=build python manage.py collectstatic --noinput -v0

RUN useradd --create-home --uid 1000 app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
# Workers (sync, 1 per CPU + 1) and the masked access log: gunicorn_web.conf.py (the load
# bench starts the same file); GUNICORN_WORKERS / GUNICORN_THREADS override them.
CMD ["gunicorn", "-c", "gunicorn_web.conf.py", "dealership.wsgi"]
