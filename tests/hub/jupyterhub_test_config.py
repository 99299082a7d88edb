"""deploy/jupyterhub_config.py, loaded by JupyterHub itself, with what a test sandbox lacks swapped in.

No system users, no systemd, no public port: passwords from a test authenticator, servers as local
processes in temporary homes, everything on 127.0.0.1. Set by tests/hub/hub.py through FM_* variables.
"""

import os

c = get_config()  # noqa: F821
load_subconfig(os.environ["FM_DEPLOY_CONFIG"])  # noqa: F821  (the file a teacher runs)

c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['FM_HUB_PORT']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ['FM_HUB_API_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['FM_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [os.environ["FM_CHP"]]

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["FM_PASSWORD"]
c.Authenticator.allowed_users = set(os.environ["FM_STUDENTS"].split(","))
c.Authenticator.admin_users = {"teacher"}

c.JupyterHub.spawner_class = "simple"  # local processes, one temporary home per student
c.Spawner.args = ["--allow-root"]  # the sandbox runs everything as root; a class machine does not
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(os.environ["FM_HOMES"], "{username}")

_state = os.environ["FM_HUB_STATE"]
c.JupyterHub.db_url = f"sqlite:///{os.path.join(_state, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(_state, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(_state, "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(_state, "proxy.pid")
