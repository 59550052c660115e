# scenario-match: the web service with the bundled multilingual-e5-small (no download at run time).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SCENARIO_MATCH_DATA_DIR=/data SCENARIO_MATCH_HOST=0.0.0.0 SCENARIO_MATCH_PORT=8000

RUN useradd --create-home --uid 10001 app && mkdir /data && chown app /data
WORKDIR /app

# dependencies first, so a code change does not reinstall them
COPY pyproject.toml README.md ./
RUN mkdir -p matching service/routes service/migrations/versions \
    && touch matching/__init__.py service/__init__.py service/routes/__init__.py \
       service/migrations/__init__.py service/migrations/versions/__init__.py \
    && pip install --no-cache-dir . && pip uninstall -y scenario-match

COPY matching matching
COPY service service
COPY templates templates
COPY seed_data seed_data
RUN pip install --no-cache-dir --no-deps -e .

USER app
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["sh", "-c", "scenario-match seed --if-empty && exec scenario-match serve"]
