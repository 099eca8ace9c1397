# One image for every xborder process: serve, ingest, scheduler, simulate.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kernel kernel
COPY routing routing
COPY logistics logistics
COPY warehouse warehouse
COPY iot_sim iot_sim
COPY api api
RUN pip install --no-cache-dir . && useradd --system --uid 10001 xborder
USER xborder
EXPOSE 8000
ENTRYPOINT ["xborder"]
CMD ["serve", "--no-ingest", "--no-scheduler"]
