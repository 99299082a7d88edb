#!/usr/bin/env bash
# Install the course environment for the hub machine into /opt/flow-matching, from a release tag:
#   sudo deploy/install-course.sh https://github.com/ORG/REPO v0.5.0
# /opt/flow-matching/src      the tagged checkout (read-only for students; deploy/ lives here)
# /opt/flow-matching/venv     Python with fmlib installed as a package (not editable), jupyterhub,
#                             the spawner, nbgitpuller, the idle culler and nbgrader
# /opt/flow-matching/node     configurable-http-proxy
# Kernels import fmlib from the venv's site-packages: a later `git pull` anywhere changes nothing
# in a running class; a new term is a new tag installed the same way (then restart the hub).
# Outside every home, world-readable: SystemdSpawner's dynamic users can read it.
set -euo pipefail
repo=${1:?usage: install-course.sh REPO_URL TAG}
tag=${2:?usage: install-course.sh REPO_URL TAG}
prefix=${FM_PREFIX:-/opt/flow-matching}
umask 022
mkdir -p "$prefix"
rm -rf "$prefix/src.new"
git clone --quiet --depth 1 --branch "$tag" "$repo" "$prefix/src.new"
python3 -m venv "$prefix/venv"
"$prefix/venv/bin/pip" install -q --upgrade pip
"$prefix/venv/bin/pip" install -q --index-url https://download.pytorch.org/whl/cpu "torch>=2.2"
# a plain (not editable) install: fmlib is copied into site-packages
"$prefix/venv/bin/pip" install -q "$prefix/src.new[notebooks,hub,instructor]"
# nbgrader's menus stay out of the students' JupyterLab
"$prefix/venv/bin/jupyter" labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1 || true
for e in formgrader validate_assignment assignment_list course_list; do
  "$prefix/venv/bin/jupyter" server extension disable --sys-prefix "nbgrader.server_extensions.$e" >/dev/null 2>&1 || true
done
npm install --silent --no-audit --no-fund --prefix "$prefix/node" configurable-http-proxy@5
rm -rf "$prefix/src" && mv "$prefix/src.new" "$prefix/src"
chmod -R a+rX "$prefix"
"$prefix/venv/bin/python" -c "import fmlib, sys; print('fmlib', fmlib.__version__, 'from', fmlib.__file__)"
