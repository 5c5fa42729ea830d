# The step runner for AmlCompute steps on Azure Container Apps jobs (infra/modules/containerjobs.bicep).
# One container = one step: the job execution's environment names the step's spec
# (DURABLEML_SPEC_BLOB: the spec blob, read with the job's identity; DURABLEML_RAY_ATTEMPT), and the entrypoint runs the
# step runner for it (durableml/compute/node.py: read the spec, run the step, write result.json, notify).
# Built by infra/hooks/postdeploy.sh with `az acr build` (in the registry, no local Docker needed).
# Not built in CI: this repository's machines have no Docker.

# --- build the durableml wheel from this checkout
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md requirements.txt ./
COPY durableml ./durableml
COPY funchost ./funchost
COPY function_app.py host.json app_decorators.py ./
COPY activities ./activities
COPY orchestrators ./orchestrators
COPY triggers ./triggers
COPY studio ./studio
RUN pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /dist .

# --- the runtime image: the wheel and its pinned dependencies, run as an unprivileged user
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DURABLEML_RAY_NODE_DIR=/home/runner/work
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --disable-pip-version-check /tmp/dist/durableml-*.whl \
    && rm -rf /tmp/dist \
    && useradd --create-home --uid 10001 runner
USER runner
WORKDIR /home/runner
# A job replica runs one step and exits; Container Apps jobs have no health probe to answer.
HEALTHCHECK NONE
ENTRYPOINT ["python", "-m", "durableml.compute.node"]
