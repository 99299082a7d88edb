#!/usr/bin/env bash
# Build the students' image for Zero to JupyterHub (or any Docker host) with repo2docker, from the
# same environment.yml that Binder reads. Needs Docker and `pip install jupyter-repo2docker`.
#   deploy/build-image.sh registry.example.edu/flow-matching-interactively v0.2.0
set -euo pipefail
image=${1:?usage: build-image.sh IMAGE TAG}
tag=${2:?usage: build-image.sh IMAGE TAG}
cd "$(dirname "$0")/.."
# Build from the tagged commit, not from whatever is in the working tree.
git diff --quiet HEAD || { echo "commit or stash your changes first"; exit 1; }
jupyter-repo2docker --no-run --user-name jovyan --image-name "$image:$tag" --ref "$tag" .
docker push "$image:$tag"
