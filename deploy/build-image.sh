#!/usr/bin/env bash
# Build and push the students' image for Zero to JupyterHub from a release tag, with the
# students' tree (tools/student_release.py: no solutions/, no teacher pages) as the build context
# and deploy/Dockerfile (fmlib installed outside the home folder). Needs Docker.
#   deploy/build-image.sh registry.example.edu/flow-matching-interactively v0.5.0
set -euo pipefail
image=${1:?usage: build-image.sh IMAGE TAG}
tag=${2:?usage: build-image.sh IMAGE TAG}
cd "$(dirname "$0")/.."
# Build from the tagged commit, not from whatever is in the working tree.
git diff --quiet HEAD || { echo "commit or stash your changes first"; exit 1; }
[ "$(git rev-parse HEAD)" = "$(git rev-parse "$tag^{commit}")" ] || { echo "check out $tag first"; exit 1; }
out=$(mktemp -d)/student
python3 tools/student_release.py --out "$out"
docker build -f deploy/Dockerfile -t "$image:$tag" "$out"
docker push "$image:$tag"
