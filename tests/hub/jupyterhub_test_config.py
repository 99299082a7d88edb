"""deploy/jupyterhub_config.py, loaded by JupyterHub itself, with what a test sandbox lacks swapped in.

The authenticator is the deployment's own (deploy/classlist_auth.py, with a class list and
passwords issued by deploy/issue_passwords.py). Swapped: no systemd here, so servers run as local
processes in temporary homes; no public port, so everything listens on 127.0.0.1. Set by
tests/hub/hub.py through FM_* variables.
"""

import os

c = get_config()  # noqa: F821
load_subconfig(os.environ["FM_DEPLOY_CONFIG"])  # noqa: F821  (the file a teacher runs)

c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['FM_HUB_PORT']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ['FM_HUB_API_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['FM_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [os.environ["FM_CHP"]]

c.JupyterHub.spawner_class = "simple"  # local processes, one temporary home per student
# the sandbox runs everything as root; a class machine does not (one dynamic user per student)
c.Spawner.args = [*c.Spawner.args, "--allow-root"]
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(os.environ["FM_HOMES"], "{username}")

_state = os.environ["FM_HUB_STATE"]
c.JupyterHub.db_url = f"sqlite:///{os.path.join(_state, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(_state, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(_state, "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(_state, "proxy.pid")
