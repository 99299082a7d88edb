"""nbgitpuller links: one click puts the course into a student's home on a hub and opens a notebook.

    python deploy/links.py --hub https://hub.example.edu --repo https://github.com/ORG/REPO --branch v0.2.0
    make links HUB=https://hub.example.edu REPO=https://github.com/ORG/REPO BRANCH=v0.2.0

Prints a Markdown list with a link per section notebook (and exercise), ready for a course page or
an LMS. The first click clones the repository into ~/<folder>; later clicks pull the teacher's
updates and keep each student's own edits (nbgitpuller's merge rules).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]


def link(hub: str, repo: str, branch: str, path: str, folder: str) -> str:
    """The nbgitpuller link that pulls ``repo@branch`` into ~/``folder`` and opens ``path`` in JupyterLab."""
    if not hub.startswith(("http://", "https://")):
        raise ValueError(f"hub must be the hub's URL, like https://hub.example.edu; got {hub!r}")
    query = urlencode(
        {
            "repo": repo,
            "branch": branch,
            "targetpath": folder,
            "urlpath": f"lab/tree/{folder}/{path}",
        }
    )
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def course_notebooks(root: Path = ROOT) -> list[str]:
    """The section notebooks, then the exercises, as paths relative to the repository."""
    return [
        str(p.relative_to(root))
        for folder in ("notebooks", "exercises")
        for p in sorted((root / folder).glob("*.ipynb"))
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", required=True, help="the hub's URL, e.g. https://hub.example.edu")
    parser.add_argument("--repo", required=True, help="the course repository's clone URL")
    parser.add_argument("--branch", default="main", help="a branch or, better, a release tag")
    parser.add_argument("--folder", default="flow-matching", help="folder in each student's home")
    args = parser.parse_args(argv)
    for path in course_notebooks():
        print(f"- [{Path(path).stem}]({link(args.hub, args.repo, args.branch, path, args.folder)})")


if __name__ == "__main__":
    main()
