# syntax=docker/dockerfile:1
# fattura-sandbox: every provider's API and the control API on one port, state on a volume.
#
#   docker build -t fattura-sandbox .
#   docker run --rm -p 8080:8080 -v fattura-sandbox-data:/data fattura-sandbox
#
# The official FatturaPA schemas are not in the image (they are not ours to redistribute): mount them
# and point FATTURA_SANDBOX_XSD_DIR at them, e.g. -v "$PWD/xsd:/schemas:ro" -e FATTURA_SANDBOX_XSD_DIR=/schemas,
# or bake them into an image of your own (FROM fattura-sandbox / COPY xsd/ /schemas/ / ENV ...).
# Without them the sandbox runs its own checks only (see README, "Container").

ARG PYTHON_IMAGE=python:3.11-slim

# -- build: the project's wheel and the wheels of its dependencies ------------------------------
FROM ${PYTHON_IMAGE} AS build
# Optional extras of the package, e.g. --build-arg EXTRAS=contract for `fattura-sandbox contract-test`.
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY emulator ./emulator
RUN pip wheel --wheel-dir /wheels ".${EXTRAS:+[$EXTRAS]}" \
 && echo "fattura-sandbox${EXTRAS:+[$EXTRAS]}" > /wheels/requirements.in

# -- final: a venv with the wheels installed, no compilers, no pip in the venv, a non-root user ---
FROM ${PYTHON_IMAGE}
ENV VIRTUAL_ENV=/opt/fattura-sandbox
# The code reads contracts/ and fixtures/ next to the `emulator` package (Path(__file__).parents[2]
# of emulator/journal/validation.py, emulator/contract_testing/runner.py, emulator/core/accounts.py):
# in the venv that is its site-packages directory.
ARG SITE_PACKAGES=/opt/fattura-sandbox/lib/python3.11/site-packages
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv --without-pip "${VIRTUAL_ENV}" \
 && pip --disable-pip-version-check --python "${VIRTUAL_ENV}/bin/python" install --no-cache-dir \
        --no-index --find-links /wheels $(cat /wheels/requirements.in) \
 && find "${VIRTUAL_ENV}" \( -name '*.c' -o -name '*.pyx' -o -name '*.pxd' \) -delete \
 && groupadd --gid 10001 sandbox \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data --shell /usr/sbin/nologin sandbox \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY contracts ${SITE_PACKAGES}/contracts
COPY fixtures ${SITE_PACKAGES}/fixtures

ENV PATH=/opt/fattura-sandbox/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    FATTURA_SANDBOX_HOST=0.0.0.0 \
    FATTURA_SANDBOX_PORT=8080 \
    FATTURA_SANDBOX_DB=/data/fattura-sandbox.db

USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8080

# Same port resolution as `serve` (FATTURA_SANDBOX_PORT): changing the port keeps the check right.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["fattura-sandbox", "healthcheck"]

ENTRYPOINT ["fattura-sandbox"]
CMD ["serve"]
