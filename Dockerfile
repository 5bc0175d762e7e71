# mr-cds-hooks: the CDS Hooks service under gunicorn (see README, "Deploying").
#   docker build -t mr-cds-hooks .
#   docker run --rm -p 8080:8080 -v "$PWD/deploy/issuers.json:/etc/mr-cds/issuers.json:ro" \
#     -e MRCDS_TRUSTED_ISSUERS=/etc/mr-cds/issuers.json -e MRCDS_PUBLIC_BASE_URL=https://cds.example.org \
#     -e MRCDS_CORS_ORIGINS=https://ehr.example.org mr-cds-hooks
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XDG_DATA_HOME=/data

WORKDIR /app

# Dependencies first, at the versions of constraints.txt: a change to the code alone
# reuses this layer instead of reinstalling every dependency.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md LICENSE openapi.yaml ./
COPY cds_service ./cds_service
COPY fhir_mappings ./fhir_mappings
COPY hooks ./hooks
RUN pip install --no-cache-dir --no-deps -c constraints.txt . \
    && groupadd --system --gid 10001 mrcds \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin mrcds \
    && mkdir -p /data \
    && chown 10001:10001 /data

# Numeric, so that a cluster can check "runAsNonRoot" without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
# Ready, not only alive: value sets, thresholds and the database (GET /readyz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
CMD ["mr-cds", "serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
