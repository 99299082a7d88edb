"""deploy/: the hub configuration loads in JupyterHub's own loader, the Kubernetes values parse and
agree with it, the image and the production recipe keep the course outside homes, the passwords
are issued and checked, and the course links pull the students' release."""

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
    assert hub_config.JupyterHub.authenticator_class.__name__ == "ClassListAuthenticator"
    assert hub_config.Authenticator.admin_users == {"teacher"}
    assert hub_config.Spawner.mem_limit == "3G"
    args = " ".join(hub_config.Spawner.args)
    assert "--MappingKernelManager.cull_idle_timeout=1200" in args
    assert "--MappingKernelManager.cull_connected=True" in args
    assert hub_config.Spawner.default_url == "/lab/tree/flow-matching"
    # forty servers starting together: the hub waits for them and starts ten at a time
    assert hub_config.Spawner.http_timeout >= 300 and hub_config.Spawner.start_timeout >= 300
    assert hub_config.JupyterHub.concurrent_spawn_limit == 10
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
    assert single["defaultUrl"] == hub_config.Spawner.default_url
    assert single["cmd"][1:] == hub_config.Spawner.args  # the same kernel culling
    auth = values["hub"]["config"]["Authenticator"]
    assert auth["admin_users"] == ["teacher"] and auth["allowed_users"]  # an explicit class list
    assert "firstuse" not in str(values).lower()


def test_the_image_installs_the_course_outside_the_home_from_the_students_tree():
    docker = (DEPLOY / "Dockerfile").read_text()
    installs = [line for line in docker.splitlines() if "pip install" in line]
    assert installs and not [line for line in installs if " -e " in line or "--editable" in line]
    assert "/home/jovyan" not in " ".join(installs)
    assert "fmlib.__file__.startswith('/usr/local')" in docker
    build = (DEPLOY / "build-image.sh").read_text()
    assert "tools/student_release.py" in build and "-f deploy/Dockerfile" in build


def test_the_production_recipe_runs_from_opt_not_from_a_home_or_a_checkout():
    unit = (DEPLOY / "jupyterhub.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start.startswith("ExecStart=/opt/flow-matching/venv/bin/jupyterhub")
    assert "/home" not in unit and "/root" not in unit
    install = (DEPLOY / "install-course.sh").read_text()
    assert '--branch "$tag"' in install
    pip_lines = [line for line in install.splitlines() if "/bin/pip" in line]
    assert pip_lines and not [line for line in pip_lines if " -e " in line or "--editable" in line]
    assert "reverse_proxy 127.0.0.1:8000" in (DEPLOY / "Caddyfile").read_text()


def test_issued_passwords_are_hashed_private_and_kept_for_existing_names(tmp_path):
    import stat
    import sys

    sys.path.insert(0, str(DEPLOY))
    import classlist_auth
    import issue_passwords

    passwords, slips = tmp_path / "passwords", tmp_path / "slips.csv"
    first = issue_passwords.issue(["teacher", "ada"], passwords, slips)
    assert set(first) == {"teacher", "ada"} and first["ada"] != first["teacher"]
    stored = classlist_auth.read_password_file(str(passwords))
    assert first["ada"] not in passwords.read_text()  # only hashes on the hub
    assert classlist_auth.check_password(first["ada"], stored["ada"])
    assert not classlist_auth.check_password(first["teacher"], stored["ada"])
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    assert stat.S_IMODE(slips.stat().st_mode) == 0o600
    # a late student: only the new name gets a password; the others keep theirs
    second = issue_passwords.issue(["teacher", "ada", "ben"], passwords, slips)
    assert set(second) == {"ben"}
    assert classlist_auth.check_password(first["ada"], classlist_auth.read_password_file(
        str(passwords))["ada"])  # fmt: skip
    again = issue_passwords.issue(["ada"], passwords, slips, reset=frozenset({"ada"}))
    assert set(again) == {"ada"} and again["ada"] != first["ada"]


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
    assert "branch=student" in out and "targetpath=flow-matching" in out
    with pytest.raises(SystemExit):
        _links().main(["--hub", "https://h.example.edu", "--repo", "r", "--branch", "main"])
    for nb in sorted((DEPLOY.parent / "notebooks").glob("*.ipynb")):
        assert f"notebooks%2F{nb.name}" in out or f"notebooks/{nb.name}" in out


def test_the_chinese_links_open_the_chinese_notebooks(capsys):
    args = ["--hub", "https://hub.example.edu", "--repo", "https://example.invalid/r"]
    _links().main([*args, "--lang", "zh"])
    out = capsys.readouterr().out
    for nb in sorted((DEPLOY.parent / "zh" / "notebooks").glob("*.ipynb")):
        assert f"zh%2Fnotebooks%2F{nb.name}" in out, nb.name
    assert "zh%2Fexercises%2F" in out and "(https://hub.example.edu" in out
    assert "flow-matching%2Fnotebooks" not in out  # no English notebook in the Chinese list
    with pytest.raises(ValueError, match="lang must be"):
        _links().course_notebooks(lang="fr")
