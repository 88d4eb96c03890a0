# Cultivate in a container: `docker build -t cultivate .` then
# `docker run --env-file .env -p 3000:3000 cultivate` (web and scheduler in one process), or run
# the same image twice with `web` and `clock` as the command for separate processes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install . && useradd --create-home cultivate
USER cultivate
# SQLite's default file lives here; mount a volume, or set DATABASE_URL to PostgreSQL.
WORKDIR /home/cultivate

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz')"
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
