# sitewatch: runs `sitewatch run` with config/ and checks/ mounted.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SITEWATCH_CONFIG=/etc/sitewatch/sitewatch.yaml

WORKDIR /opt/sitewatch
COPY pyproject.toml README.md ./
COPY sitewatch ./sitewatch
# The project itself with its `fast` extra (uvloop); versions are bounded in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir .[fast] \
    && useradd --system --uid 10001 --home-dir /var/lib/sitewatch --create-home sitewatch

# The database lives here: point `database:` at sqlite:////var/lib/sitewatch/sitewatch.db.
VOLUME ["/var/lib/sitewatch"]
USER 10001
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen(os.environ.get('SITEWATCH_HEALTH_URL','http://127.0.0.1:8080/healthz'), timeout=4).status == 200 else 1)"]

ENTRYPOINT ["sitewatch"]
CMD ["run", "-c", "/etc/sitewatch/sitewatch.yaml"]
