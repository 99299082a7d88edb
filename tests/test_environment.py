"""environment.yml (Binder, conda) and pyproject.toml (pip, make) must list the same packages."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch": "torch", "jupyterhub-singleuser": "jupyterhub"}
NOT_PACKAGES = {"python", "pip"}
# pyproject's `hub` extra also holds what runs on the hub machine only, never in a student's image
HUB_ONLY = {
    "jupyterhub-idle-culler",
    "jupyterhub-systemdspawner",
    "jupyterhub-firstuseauthenticator",
}


def _split(spec: str) -> tuple[str, str]:
    name, bound = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return {name: bound for name, bound in map(_split, specs) if name not in HUB_ONLY}


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs: dict[str, str] = {}
    for dep in env["dependencies"]:
        for spec in dep["pip"] if isinstance(dep, dict) else [dep]:
            if spec.startswith("-e"):
                continue
            name, bound = _split(spec)
            if name not in NOT_PACKAGES:
                specs[CONDA_TO_PYPI.get(name, name)] = bound
    return specs


def test_same_packages_and_bounds():
    assert _environment() == _pyproject()


def test_environment_installs_fmlib_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_python_floor_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "") == project["requires-python"]
