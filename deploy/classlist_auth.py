"""Log in with a password the teacher issued: the class list is the list of accounts, and no name
can be claimed by whoever types it first.

Why not first-use passwords: with FirstUseAuthenticator the first person to log in as a name sets
its password, so a student who tries the teacher's name before the teacher does becomes an admin,
and one who tries a classmate's name locks the classmate out. Here every account, the teacher's
included, has a password from `deploy/issue_passwords.py`, handed out on paper or by the
university's mail; a name without an entry cannot log in at all.

Where the university runs single sign-on, use it instead and keep the class list (only the
passwords go away). In jupyterhub_config.py, for example:

    # OAuth / OpenID Connect (Keycloak, Azure AD, Google Workspace, ...): pip install oauthenticator
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.oauth_callback_url = "https://hub.example.edu/hub/oauth_callback"
    c.GenericOAuthenticator.client_id = "flow-matching"
    c.GenericOAuthenticator.client_secret = open("/etc/jupyterhub/oauth_secret").read().strip()
    c.GenericOAuthenticator.authorize_url = "https://login.example.edu/oauth2/authorize"
    c.GenericOAuthenticator.token_url = "https://login.example.edu/oauth2/token"
    c.GenericOAuthenticator.userdata_url = "https://login.example.edu/oauth2/userinfo"
    c.GenericOAuthenticator.username_claim = "preferred_username"

    # LDAP / Active Directory: pip install jupyterhub-ldapauthenticator
    c.JupyterHub.authenticator_class = "ldapauthenticator.LDAPAuthenticator"
    c.LDAPAuthenticator.server_address = "ldaps://ldap.example.edu"
    c.LDAPAuthenticator.bind_dn_template = ["uid={username},ou=people,dc=example,dc=edu"]

    # LTI 1.3 from the LMS (Moodle, Canvas): pip install jupyterhub-ltiauthenticator

Passwords are stored as scrypt hashes (Python's hashlib, nothing to install), one account a line:
`name:scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`. The file is read at each login, so a late student
added with issue_passwords.py can log in without restarting the hub.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets

from jupyterhub.auth import Authenticator
from traitlets import Unicode

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT, dklen=32)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    mine = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(mine.hex(), digest)


def read_password_file(path: str) -> dict[str, str]:
    """name -> stored hash; an absent file means nobody can log in."""
    entries = {}
    if not os.path.exists(path):
        return entries
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and ":" in line:
                name, stored = line.split(":", 1)
                entries[name] = stored
    return entries


class ClassListAuthenticator(Authenticator):
    """Accounts are the entries of ``password_file``; each has a password the teacher issued."""

    password_file = Unicode(
        "/etc/jupyterhub/passwords",
        config=True,
        help="name:hash lines written by deploy/issue_passwords.py (readable by root only)",
    )

    def check_allowed(self, username, authentication=None):
        # the password file is the class list: a name is allowed exactly when it has a password
        return username in read_password_file(self.password_file)

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        stored = read_password_file(self.password_file).get(name)
        password = data.get("password", "")
        # scrypt takes tens of milliseconds on purpose: off the hub's event loop, so forty logins
        # at 9:00 do not stall every other request
        ok = stored is not None and await asyncio.get_running_loop().run_in_executor(
            None, check_password, password, stored
        )
        if not ok:
            self.log.warning("refused login as %r from %s", name, handler.request.remote_ip)
            return None
        return name
