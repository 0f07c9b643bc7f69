# camfleet service image: the API, the hourly sweeps and the checker processes.
# Build: docker build -t camfleet .
# Run:   docker run -e CAMFLEET_MODE=production -e CAMFLEET_SECRET_KEY=... \
#          -e CAMFLEET_DATABASE_URL=postgresql+psycopg://camfleet@db/camfleet -p 8000:8000 camfleet
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY camfleet ./camfleet
COPY discovery ./discovery
COPY health ./health
COPY api ./api
COPY sim ./sim
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CAMFLEET_DATA_DIR=/var/lib/camfleet \
    CAMFLEET_API_HOST=0.0.0.0
RUN useradd --system --uid 10001 --home-dir /var/lib/camfleet --create-home camfleet
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER camfleet
WORKDIR /var/lib/camfleet
EXPOSE 8000
# No secret is baked in: production mode refuses to start without CAMFLEET_SECRET_KEY(_FILE).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
# `serve` brings the schema to the latest migration before it listens.
ENTRYPOINT ["camfleet"]
CMD ["serve"]
