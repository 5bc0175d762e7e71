# mr-cds-hooks: the CDS Hooks service under gunicorn.
#   docker build -t mr-cds-hooks .
#   docker run -p 8080:8080 -e MRCDS_CORS_ORIGINS=https://ehr.example.org mr-cds-hooks
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    XDG_DATA_HOME=/data

WORKDIR /app
COPY pyproject.toml README.md openapi.yaml ./
COPY cds_service ./cds_service
COPY fhir_mappings ./fhir_mappings
COPY hooks ./hooks
RUN pip install ".[postgres]" \
    && useradd --system --uid 10001 --home-dir /nonexistent mrcds \
    && mkdir -p /data && chown mrcds /data

USER mrcds
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["mr-cds", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
