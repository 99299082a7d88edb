"""Build the course site: stage the pages, execute the notebooks, build with Jupyter Book.

    python tools/build_book.py [--out build/book] [--jobs 2]      (or: make book)

1. Stage: book/ (config, landing page), notebooks/ (sections, glossary), exercises/, TEACHING.md
   are copied to OUT/src with their repository paths, so each page's "launch" button opens the
   same file in JupyterLab on Binder or a JupyterHub (REPO_URL, BINDER_URL, HUB_URL, BRANCH).
2. Execute every notebook with nbclient, JOBS at a time, exactly as shipped (one torch thread);
   with ``--executed build/executed`` (as `make test` does) a notebook that the tests have just
   run from the same source keeps those outputs instead of running again.
   Section notebooks must run without error; exercises run unsolved and may show their stubs'
   NotImplementedError. Widget outputs keep their PNG still; matplotlib's animation HTML loses its
   one link to a CDN stylesheet (the theme's own icon font draws its buttons).
3. Build with Jupyter Book (execution off) into OUT/_build/html, and copy MathJax from npm into
   _static so that no page loads anything from the internet.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MATHJAX = ROOT / ".venv" / "node" / "node_modules" / "mathjax" / "es5"
CDN_STYLESHEET = re.compile(r"<link[^>]*href=\"https?://[^\"]*\"[^>]*>\s*")
# sphinx-thebe (live code on Binder) is off, yet Jupyter Book 1 writes its two scripts into every
# page, the first twice (a "const declared twice" error in the console); the site drops them.
THEBE_SCRIPTS = re.compile(
    r"\s*<script[^>]*>const THEBE_JS_URL[^<]*</script>|\s*<script[^>]*sphinx-thebe\.js[^>]*></script>"
)


def pages() -> dict[str, list[Path]]:
    """The site's pages by part, in the chapter's order, as repository paths."""
    notebooks = sorted((ROOT / "notebooks").glob("6_*.ipynb"))
    exercises = sorted((ROOT / "exercises").glob("*.ipynb"))
    reference = [
        p for p in (ROOT / "notebooks" / "glossary.md", ROOT / "TEACHING.md") if p.exists()
    ]
    return {
        "第6章 流匹配 · Chapter 6, Flow Matching": notebooks,
        "练习 · Exercises": exercises,
        "参考 · Reference": reference,
    }


def stage(src: Path, settings: dict[str, str]) -> list[Path]:
    """Copy the pages to ``src`` and write the table of contents; returns the staged notebooks."""
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shutil.copy(ROOT / "book" / "intro.md", src / "intro.md")
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    config["repository"].update(url=settings["repo_url"], branch=settings["branch"])
    config["launch_buttons"].update(
        binderhub_url=settings["binder_url"], jupyterhub_url=settings["hub_url"]
    )
    (src / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    parts, staged = [], []
    for caption, files in pages().items():
        if not files:
            continue
        chapters = []
        for path in files:
            rel = path.relative_to(ROOT)
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, src / rel)
            chapters.append({"file": str(rel.with_suffix(""))})
            if path.suffix == ".ipynb":
                staged.append(src / rel)
        parts.append({"caption": caption, "chapters": chapters})
    toc = {"format": "jb-book", "root": "intro", "parts": parts}
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, allow_unicode=True, sort_keys=False))
    for folder in ("notebooks", "exercises"):  # relative links between pages and READMEs
        readme = ROOT / folder / "README.md"
        if readme.exists() and (src / folder).is_dir():
            shutil.copy(readme, src / folder / "README.md")
    return staged


def execute(path: Path, timeout_s: int = 600) -> tuple[str, float]:
    """Run one notebook in place, as shipped; returns (name, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    start = time.monotonic()
    nb = nbformat.read(path, as_version=4)
    is_exercise = path.parent.name == "exercises"
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        allow_errors=is_exercise,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                text = "".join(html) if isinstance(html, list) else html
                output["data"]["text/html"] = CDN_STYLESHEET.sub("", text)
    nbformat.write(nb, path)
    return path.name, time.monotonic() - start


def reuse_executed(staged: Path, executed: Path) -> bool:
    """Replace ``staged`` by its executed copy from a test run, if that ran this very source."""
    import nbformat

    if not executed.exists():
        return False
    source = nbformat.read(staged, as_version=4)
    ran = nbformat.read(executed, as_version=4)

    def code(nb):
        return [c.source for c in nb.cells if c.cell_type == "code"]

    if code(source) != code(ran) or any(
        c.cell_type == "code" and c.execution_count is None for c in ran.cells
    ):
        return False
    for cell in ran.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                output["data"]["text/html"] = CDN_STYLESHEET.sub("", "".join(html))
    nbformat.write(ran, staged)
    return True


def build(
    out: Path, jobs: int, settings: dict[str, str], run: bool = True, executed: Path | None = None
) -> Path:
    if not (MATHJAX / "tex-chtml-full.js").exists():
        raise SystemExit(f"MathJax not found at {MATHJAX}: `make book` installs it from npm")
    src = out / "src"
    notebooks = stage(src, settings)
    if executed is not None:
        reused = [nb for nb in notebooks if reuse_executed(nb, executed / nb.relative_to(src))]
        print(f"reusing the outputs of {len(reused)} notebooks executed by the tests")
        notebooks = [nb for nb in notebooks if nb not in reused]
    os.environ["OMP_NUM_THREADS"] = "1"  # kernels inherit it: tiny models, one thread
    os.environ.pop("MPLBACKEND", None)  # an inherited Agg backend would hide every figure
    if run and notebooks:
        print(f"executing {len(notebooks)} notebooks, {jobs} at a time")
        with ProcessPoolExecutor(jobs) as pool:
            for name, seconds in pool.map(execute, notebooks):
                print(f"  {name}: {seconds:.0f} s")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run(
        [str(jupyter_book), "build", str(src), "--path-output", str(out), "--keep-going"],
        check=True,
    )
    html = out / "_build" / "html"
    # after the build: Jupyter Book would add every .js file found in the source's _static to
    # every page's <head>; the pages load only tex-chtml-full.js, which loads its fonts itself
    shutil.copytree(MATHJAX, html / "_static" / "mathjax", dirs_exist_ok=True)
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        page.write_text(THEBE_SCRIPTS.sub("", text), encoding="utf-8")
    print(f"site: {html / 'index.html'}")
    return html


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--executed",
        type=Path,
        help="take each notebook's outputs from this folder (build/executed, written by the nbval"
        " run of make test) where they come from the same source; execute the others",
    )
    parser.add_argument(
        "--no-execute", action="store_true", help="pages without outputs (a quick look at layout)"
    )
    args = parser.parse_args(argv)
    settings = {
        "repo_url": os.environ.get(
            "REPO_URL", "https://github.com/ORG/flow-matching-interactively"
        ),
        "branch": os.environ.get("BRANCH", "main"),
        "binder_url": os.environ.get("BINDER_URL", "https://mybinder.org"),
        "hub_url": os.environ.get("HUB_URL", "https://jupyterhub.example.edu"),
    }
    build(args.out.resolve(), args.jobs, settings, run=not args.no_execute, executed=args.executed)


if __name__ == "__main__":
    main()
