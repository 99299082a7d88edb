"""JupyterHub for a class on one machine: the course's notebooks, one server per student.

Production recipe (README, "Teaching with these notebooks", and deploy/install-course.sh): the
course environment lives in /opt/flow-matching (a tagged release installed there, not editable, so
no `git pull` reaches a running kernel); the hub runs as the systemd unit deploy/jupyterhub.service
on 127.0.0.1:8000 behind a reverse proxy that holds the TLS certificate (deploy/Caddyfile); its
state lives in /srv/jupyterhub; the class list and the passwords in /etc/jupyterhub.

Every choice below is sized from measurements on the notebooks (README, "Capacity, measured").
tests/hub/ runs this very file in a real hub on 127.0.0.1, with its real authenticator; only the
spawner is swapped (local processes instead of systemd units: no systemd in the test sandbox).
"""

import os
import sys

c = get_config()  # noqa: F821  (JupyterHub's config loader provides get_config)
HERE = os.path.dirname(os.path.abspath(__file__))  # noqa: F821 (__file__: set by the loader)
sys.path.insert(0, HERE)

# Where the hub listens: loopback only; the reverse proxy (deploy/Caddyfile) serves HTTPS to the
# students and forwards here. Never expose this port itself.
c.JupyterHub.bind_url = os.environ.get("FM_HUB_URL", "http://127.0.0.1:8000")

# Who may log in: the teacher and the names on the class list, each with a password the teacher
# issued (deploy/issue_passwords.py); nobody can claim a name by logging in first. For a
# university's single sign-on (OAuth/OIDC, LDAP, LTI), see the examples in classlist_auth.py.
from classlist_auth import ClassListAuthenticator  # noqa: E402

c.JupyterHub.authenticator_class = ClassListAuthenticator
c.ClassListAuthenticator.password_file = os.environ.get(
    "FM_PASSWORD_FILE", "/etc/jupyterhub/passwords"
)
_class_list = os.environ.get("FM_CLASS_LIST", "/etc/jupyterhub/class.txt")
if os.path.exists(_class_list):
    with open(_class_list) as f:
        c.Authenticator.allowed_users = {name for line in f if (name := line.split("#")[0].strip())}
c.Authenticator.admin_users = {os.environ.get("FM_TEACHER", "teacher")}

# One server per student, each in its own systemd unit: a private home (/var/lib/<name>) owned
# by a user of its own, so neither a server nor a kernel can read a classmate's files.
c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
c.SystemdSpawner.dynamic_users = True  # no system accounts to create; homes persist per student
c.SystemdSpawner.isolate_tmp = True
c.SystemdSpawner.isolate_devices = True
# Memory, measured (README, "Capacity, measured"): a section notebook's kernel holds 0.5-0.75 GiB
# after a run, the server about 0.1 GiB. Session 2 has a student open 6.3, 6.4 and 6.5 (about
# 1.7 GiB together, measured) and then an exercise (about 0.6 GiB more, estimated from the
# sections): about 2.4 GiB, which 2 GiB did not hold. 3 GiB holds it; past it, the kernel is
# killed and JupyterLab offers a restart, instead of the machine swapping for everyone.
c.Spawner.mem_limit = "3G"
# Tiny 2-D models run on one torch thread; a notebook needs about one core-minute.
c.Spawner.cpu_limit = 1.0
c.Spawner.environment = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
c.Spawner.default_url = "/lab/tree/flow-matching"  # the folder deploy/links.py pulls into
# The course environment's own jupyterhub-singleuser (and so its Python and its installed fmlib).
c.Spawner.cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser")]
# Inside each server, a kernel idle for 20 minutes is shut down even while its tab is open: a
# student who has moved on to the next notebook gets the memory back (re-running a notebook takes
# about a minute). Busy kernels are never culled.
KERNEL_CULL_S = int(os.environ.get("FM_KERNEL_CULL_S", "1200"))
c.Spawner.args = [
    f"--MappingKernelManager.cull_idle_timeout={KERNEL_CULL_S}",
    f"--MappingKernelManager.cull_interval={max(1, min(60, KERNEL_CULL_S // 4))}",
    "--MappingKernelManager.cull_connected=True",
    "--MappingKernelManager.cull_busy=False",
]
# A class arriving at once: forty servers starting together on a few cores each take far longer
# than one alone (the load test, README). The hub waits up to five minutes for a server (with
# 60 s, on a busy 2-core test machine, one server of forty had started after five minutes and
# the hub had given up on the others 660 times), and starts at most ten at a time; the others
# see "try again" and their browser's retry starts them.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.JupyterHub.concurrent_spawn_limit = 10

# Idle servers are stopped after an hour (their files stay); nobody's kernel keeps a core busy
# through the night. jupyterhub-idle-culler runs as a hub service with just the rights it needs.
CULL_S = int(os.environ.get("FM_CULL_S", "3600"))
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={CULL_S}",
            f"--cull-every={max(1, min(300, CULL_S // 4))}",
        ],
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
