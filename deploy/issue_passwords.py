"""Issue a password to every name on the class list (and the teacher): the hub's accounts.

    sudo python3 deploy/issue_passwords.py --class-list /etc/jupyterhub/class.txt \\
        --teacher teacher --passwords /etc/jupyterhub/passwords --slips ~/slips.csv
    sudo python3 deploy/issue_passwords.py ... --reset ada      # a student forgot theirs

The class list has one login name a line (lowercase letters, digits, `.`, `_`, `-`). Names that
already have a password keep it; new names (a late student) get one. The passwords themselves are
written only to the slips file (name,password), for you to hand out on paper or by the university's
mail; the hub keeps only their scrypt hashes. Both files are made readable by their owner only.
Running this needs only Python's standard library and deploy/classlist_auth.py beside it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classlist_auth import NAME, hash_password, read_password_file  # noqa: E402

WORDS = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: passwords are read off paper


def new_password(length: int = 14) -> str:
    """14 characters from 31: about 69 bits, far beyond guessing through a login form."""
    body = "".join(secrets.choice(WORDS) for _ in range(length))
    return "-".join(body[i : i + 7] for i in range(0, length, 7))


def read_class_list(path: Path) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        name = line.split("#")[0].strip()
        if not name:
            continue
        if not NAME.match(name):
            raise SystemExit(f"{path}: {name!r} is not a login name (lowercase, digits, . _ -)")
        names.append(name)
    return names


def issue(
    names: list[str], passwords: Path, slips: Path, reset: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Give every name without a password (or in ``reset``) a new one; returns name -> password."""
    entries = read_password_file(str(passwords))
    issued = {}
    for name in names:
        if name not in entries or name in reset:
            issued[name] = new_password()
            entries[name] = hash_password(issued[name])
    _write_private(passwords, "".join(f"{n}:{h}\n" for n, h in entries.items()))
    if issued:
        old = slips.read_text() if slips.exists() else "name,password\n"
        _write_private(slips, old + "".join(f"{n},{p}\n" for n, p in issued.items()))
    return issued


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # a login never reads a half-written file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-list", type=Path, required=True)
    parser.add_argument("--teacher", action="append", default=[], help="admin name(s)")
    parser.add_argument("--passwords", type=Path, default=Path("/etc/jupyterhub/passwords"))
    parser.add_argument(
        "--slips", type=Path, required=True, help="CSV of new passwords to hand out"
    )
    parser.add_argument("--reset", nargs="*", default=[], help="issue these names a new password")
    args = parser.parse_args(argv)
    names = [*args.teacher, *read_class_list(args.class_list)]
    issued = issue(names, args.passwords, args.slips, frozenset(args.reset))
    print(
        f"{len(issued)} new password(s) in {args.slips}; {len(names)} accounts in {args.passwords}"
    )


if __name__ == "__main__":
    main()
