# ecgtricks on a GPU host:
#   docker build -t ecgtricks .
#   docker run --gpus all --shm-size 8g -v /data/challenge2020:/data -v $PWD/outputs:/outputs \
#     ecgtricks python -m ecgtricks.train data=challenge2020 data.path=/data trainer=gpu output_root=/outputs
# The install is `make install`, the target CI runs, on top of the image's CUDA torch.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 \
    ECGTRICKS_CACHE=/cache WANDB_DIR=/outputs MPLBACKEND=Agg
RUN apt-get update \
    && apt-get install -y --no-install-recommends make=4.* \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 ecg \
    && mkdir -p /app /data /models /outputs /cache \
    && chown ecg:ecg /app /data /models /outputs /cache
WORKDIR /app
COPY --chown=ecg:ecg pyproject.toml Makefile README.md ./
COPY --chown=ecg:ecg configs ./configs
COPY --chown=ecg:ecg src ./src
USER 1000:1000
# The venv sees the image's CUDA torch (TORCH=torch is then already satisfied).
RUN make install PY=python VENV_ARGS=--system-site-packages TORCH=torch
ENV PATH=/app/.venv/bin:$PATH

VOLUME ["/data", "/models", "/outputs", "/cache"]
CMD ["python", "-m", "ecgtricks.train", "--help"]
