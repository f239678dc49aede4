# gran_tf on CPU, set up by the same two commands as a checkout:
#   docker build -t gran_tf .
#   docker run --rm -v "$PWD/runs:/gran_tf/runs" gran_tf                 # make train (the default)
#   docker run --rm gran_tf make test                                   # the test suite
#   docker run --rm -v "$PWD/runs:/gran_tf/runs" gran_tf make train ARGS="--gin_file=mnist_gran3"
# For GPUs start from tensorflow/tensorflow:2.21.0-gpu (it has Python 3.11) and keep the rest.
FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
# make, and Debian's Fashion-MNIST now, so that the image's make targets need no apt at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make dataset-fashion-mnist \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /gran_tf
COPY . .
# The environment both targets use (.venv/, with the test-only packages), built into the image.
RUN make install-test && rm -rf /root/.cache/pip

CMD ["make", "train"]
