#!/bin/sh
# azd postdeploy hook: build the step-runner image from the repository's Dockerfile inside the registry
# (ACR Tasks: no local Docker) and point the Container Apps job at it. azd exports the Bicep outputs
# (AZURE_CONTAINER_REGISTRY_NAME, AZURE_RESOURCE_GROUP, AZURE_STEP_JOB_NAME) into this environment.
set -eu
: "${AZURE_CONTAINER_REGISTRY_NAME:?run through azd (azd up / azd deploy)}"
: "${AZURE_RESOURCE_GROUP:?run through azd}"
: "${AZURE_STEP_JOB_NAME:?run through azd}"
command -v az >/dev/null 2>&1 || { echo "postdeploy: the Azure CLI (az) is needed to build the step-runner image" >&2; exit 1; }

tag="step-runner:$(git rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)"
echo "postdeploy: building $tag in $AZURE_CONTAINER_REGISTRY_NAME (az acr build)"
az acr build --registry "$AZURE_CONTAINER_REGISTRY_NAME" --image "$tag" --file Dockerfile . --only-show-errors
image="$(az acr show --name "$AZURE_CONTAINER_REGISTRY_NAME" --query loginServer -o tsv)/$tag"
echo "postdeploy: job $AZURE_STEP_JOB_NAME now runs $image"
az containerapp job update --name "$AZURE_STEP_JOB_NAME" --resource-group "$AZURE_RESOURCE_GROUP" \
    --image "$image" --only-show-errors --output none
azd env set DURABLEML_STEP_RUNNER_IMAGE "$image"
