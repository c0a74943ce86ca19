# One image for the web app and the workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --create-home --uid 10001 paydeck \
    && mkdir -p /data && chown paydeck /data
USER paydeck
ENV PAYDECK_DATA_DIR=/data PAYDECK_HOST=0.0.0.0 PAYDECK_PORT=8000

EXPOSE 8000
CMD ["paydeck", "web", "--host", "0.0.0.0", "--port", "8000"]
