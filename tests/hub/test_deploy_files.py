"""deploy/: the hub configuration loads in JupyterHub's own loader, the Kubernetes values parse and
agree with it, and the course links say what nbgitpuller expects."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _links():
    spec = importlib.util.spec_from_file_location("links", DEPLOY / "links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hub_config():
    from jupyterhub.app import JupyterHub

    app = JupyterHub()
    app.load_config_file(str(DEPLOY / "jupyterhub_config.py"))
    return app.config


def test_hub_config_loads_and_sets_limits_culling_and_isolation(hub_config):
    assert hub_config.JupyterHub.spawner_class == "systemdspawner.SystemdSpawner"
    assert hub_config.SystemdSpawner.dynamic_users is True
    assert hub_config.Spawner.mem_limit == "2G"
    assert hub_config.Spawner.cpu_limit == 1.0
    assert hub_config.Spawner.environment["OMP_NUM_THREADS"] == "1"
    (culler,) = hub_config.JupyterHub.services
    assert "jupyterhub_idle_culler" in culler["command"]
    (role,) = hub_config.JupyterHub.load_roles
    assert role["services"] == ["idle-culler"] and "delete:servers" in role["scopes"]


def test_kubernetes_values_agree_with_the_one_machine_hub(hub_config):
    values = yaml.safe_load((DEPLOY / "z2jh-values.yaml").read_text())
    single = values["singleuser"]
    assert single["memory"]["limit"] == hub_config.Spawner.mem_limit
    assert single["cpu"]["limit"] == hub_config.Spawner.cpu_limit
    assert values["cull"]["enabled"] and values["cull"]["timeout"] == 3600
    assert single["defaultUrl"] == hub_config.Spawner.default_url == "/lab"


def test_a_link_carries_what_nbgitpuller_reads():
    url = _links().link(
        "https://hub.example.edu/", "https://github.com/org/course", "v0.2.0",
        "notebooks/6_1_cnf_to_flow_matching.ipynb", "fm",
    )  # fmt: skip
    parsed = urlparse(url)
    assert parsed.path == "/hub/user-redirect/git-pull"
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    assert query == {
        "repo": "https://github.com/org/course",
        "branch": "v0.2.0",
        "targetpath": "fm",
        "urlpath": "lab/tree/fm/notebooks/6_1_cnf_to_flow_matching.ipynb",
    }
    with pytest.raises(ValueError, match="hub must be the hub's URL"):
        _links().link("hub.example.edu", "r", "main", "x.ipynb", "fm")


def test_every_section_notebook_gets_a_link(capsys):
    _links().main(["--hub", "https://hub.example.edu", "--repo", "https://example.invalid/r"])
    out = capsys.readouterr().out
    for nb in sorted((DEPLOY.parent / "notebooks").glob("*.ipynb")):
        assert f"notebooks%2F{nb.name}" in out or f"notebooks/{nb.name}" in out
