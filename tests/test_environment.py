"""environment.yml (Binder, conda) and pyproject.toml (pip, make) must list the same packages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the `tomli` backport, in the test extra for < 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch": "torch", "jupyterhub-singleuser": "jupyterhub"}
NOT_PACKAGES = {"python", "pip"}
# What runs on the hub machine (the `hub` extra) or builds the course site (`book`), never in a
# student's image
NOT_IN_STUDENT_IMAGE = {
    "jupyterhub-idle-culler",
    "jupyterhub-systemdspawner",
    "jupyterhub-firstuseauthenticator",
    "jupyter-book",
    "pypdf",  # joins the course PDF's pages in `make book`
    "jieba",  # splits the Chinese site's words for its search in `make book`
    "nbgrader",  # the `instructor` extra: teachers grade with it, students never see it
}


def _split(spec: str) -> tuple[str, str]:
    """'name>=1.0; python_version < "3.11"' -> ('name', '>=1.0'): conda has no environment markers."""
    name, bound = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*([^;#]*)", spec).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return {name: bound for name, bound in map(_split, specs) if name not in NOT_IN_STUDENT_IMAGE}


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


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_python_floor_is_the_oldest_version_the_code_parses_on():
    """requires-python >= 3.10 must be true: ruff checks the syntax against that target, and the
    test tooling itself reads TOML through the `tomli` backport on 3.10."""
    floor = _project()["requires-python"].removeprefix(">=")
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert ruff["target-version"] == "py" + floor.replace(".", "")
    assert any(
        spec.startswith("tomli") and "python_version < '3.11'" in spec
        for spec in _project()["optional-dependencies"]["test"]
    )


def _installable_specs() -> list[str]:
    project = _project()
    extras = project["optional-dependencies"]
    return project["dependencies"] + extras["notebooks"] + extras["test"]


@pytest.mark.parametrize("spec", _installable_specs())
def test_every_runtime_notebook_and_test_dependency_is_installed(spec):
    """A missing dependency (e.g. ipywidgets, which the explorer tests need) fails here instead of
    turning into skipped tests elsewhere."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    req = Requirement(spec)
    if req.marker is not None and not req.marker.evaluate():
        pytest.skip(f"{req.name} is only needed where {req.marker}")
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        pytest.fail(
            f"{req.name} is not installed; run `make setup` (pip install -e '.[test,notebooks]')"
        )
    assert req.specifier.contains(installed, prereleases=True), (
        req.name,
        installed,
        str(req.specifier),
    )


def test_a_built_wheel_holds_every_module_of_fmlib(tmp_path):
    """A plain ``pip install .`` (a wheel, not the editable install of ``make setup``) must carry
    every module, subpackages included: ``packages = ["fmlib"]`` once left out ``fmlib.widgets``.
    Built from a copy, so that no stale ``build/`` of the checkout can fill a gap."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    shutil.copytree(root / "fmlib", src / "fmlib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation"]
        + ["-q", "-w", str(tmp_path / "dist")],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "dist").glob("fmlib-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(root).as_posix() for p in (root / "fmlib").rglob("*.py")}
    assert expected <= shipped, f"missing from the wheel: {sorted(expected - shipped)}"
