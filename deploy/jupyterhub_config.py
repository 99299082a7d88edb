"""JupyterHub for a class on one machine: the course's notebooks, one server per student.

Start it as root on the class machine (a Linux server with systemd), from a checkout of this
repository with the course environment installed (`make setup`, then
`.venv/bin/pip install -e ".[hub]" jupyterhub-systemdspawner jupyterhub-firstuseauthenticator`
and `npm install -g configurable-http-proxy`):

    .venv/bin/jupyterhub -f deploy/jupyterhub_config.py

Students log in, and an nbgitpuller link (`make links`) puts the course into their home folder.
Every choice below is sized from the notebooks' measured budgets (README, "Teaching with these
notebooks"): each section notebook peaks below 1 GiB of kernel memory and needs up to 60 s of one
CPU core. tests/hub/ runs this very file in a real hub on 127.0.0.1, with the test's own
authenticator and spawner swapped in (no system users or systemd there).
"""

import os
import sys

c = get_config()  # noqa: F821  (JupyterHub's config loader provides get_config)

# Where the hub listens. Put TLS in front of it (a reverse proxy such as nginx or caddy), or give
# JupyterHub a certificate with c.JupyterHub.ssl_cert / ssl_key.
c.JupyterHub.bind_url = os.environ.get("FM_HUB_URL", "http://127.0.0.1:8000")

# Who may log in. First-use authenticator: a student picks a password at the first login, and the
# teacher lists the class (usernames only) here or in a file. For a university single sign-on, use
# the matching oauthenticator class instead (GitHub, Google, generic OAuth/OIDC, LTI for an LMS).
c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.create_users = False  # only names in allowed_users may claim an account
_class_list = os.environ.get("FM_CLASS_LIST", "/etc/jupyterhub/class.txt")
if os.path.exists(_class_list):
    with open(_class_list) as f:
        c.Authenticator.allowed_users = {line.strip() for line in f if line.strip()}
c.Authenticator.admin_users = {os.environ.get("FM_TEACHER", "teacher")}

# One server per student, each in its own systemd unit: a private home and hard resource limits.
c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
c.SystemdSpawner.dynamic_users = True  # no system accounts to create; homes persist per student
c.SystemdSpawner.isolate_tmp = True
c.SystemdSpawner.isolate_devices = True
# A notebook peaks below 1 GiB of kernel memory; the server, the browser's WebSocket traffic and a
# second kernel a student opens by mistake need the rest. Past this limit the kernel is killed and
# JupyterLab offers a restart, instead of the machine swapping for everyone.
c.Spawner.mem_limit = "2G"
# Tiny 2-D models run on one torch thread; a notebook needs about one core-minute.
c.Spawner.cpu_limit = 1.0
c.Spawner.environment = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
c.Spawner.default_url = "/lab"
c.Spawner.cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser")]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

# Idle servers are stopped after an hour (their files stay); nobody's kernel keeps a core busy
# through the night. jupyterhub-idle-culler runs as a hub service with just the rights it needs.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]

# Keep the hub's state (users, cookie secret) out of the checkout.
_state = os.environ.get("FM_HUB_STATE", "/srv/jupyterhub")
c.JupyterHub.db_url = f"sqlite:///{os.path.join(_state, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(_state, "jupyterhub_cookie_secret")
