"""Build the course site: stage the pages, execute the notebooks, build with Jupyter Book.

    python tools/build_book.py [--out build/book] [--jobs 2] [--audience student|teacher] [--pdf]
                               [--only '6_2*']
                                                                   (or: make book, make book-teacher)

1. Stage: book/ (config, landing page, worksheets), notebooks/ (sections, glossary, errata),
   exercises/ are copied to OUT/src with their repository paths, so each page's "launch" button
   opens the same file in JupyterLab on Binder or a JupyterHub (REPO_URL, BINDER_URL, HUB_URL,
   BRANCH). The student site (the default) has no teacher's guide and no solutions, so no page
   links to them; ``--audience teacher`` adds TEACHING.md and solutions/ (its links then resolve).
2. Execute every notebook with nbclient, JOBS at a time, exactly as shipped (one torch thread);
   with ``--executed build/executed`` (as `make test` does) a notebook that the tests have just
   run from the same source keeps those outputs instead of running again.
   Section notebooks must run without error; exercises run unsolved and may show their stubs'
   NotImplementedError. Widget outputs keep their PNG still; matplotlib's animation HTML loses its
   one link to a CDN stylesheet (the theme's own icon font draws its buttons).
   Every explorer's PNG still gets a caption saying how to open it live.
3. Build with Jupyter Book (execution off) into OUT/_build/html, and copy MathJax from npm into
   _static so that no page loads anything from the internet.
4. With ``--pdf``: print the landing page, the sections, the errata and the paper worksheets in
   headless Chromium (Playwright) into one PDF, OUT/_build/html/flow-matching-interactively.pdf
   (the landing page links to it), for a class without computers.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
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


AUDIENCES = ("student", "teacher")
# The launch buttons open the students' release (no solutions) in the folder every course link
# uses (deploy/links.py): nbgitpuller would otherwise clone into a folder named after the repository.
STUDENT_BRANCH, COURSE_FOLDER = "student", "flow-matching"
HUB_LAUNCH = re.compile(r'href="([^"]*/git-pull\?[^"]*)"')


def _hub_launch_into_course_folder(match: re.Match) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    url = urlsplit(match.group(1).replace("&amp;", "&"))
    query = dict(parse_qsl(url.query))
    path = query.get("urlpath", "")
    parts = path.split("/", 3)  # lab / tree / <clone folder> / <notebook>
    if len(parts) == 4 and parts[:2] == ["lab", "tree"]:
        query["urlpath"] = f"lab/tree/{COURSE_FOLDER}/{parts[3]}"
    query["targetpath"] = COURSE_FOLDER
    new = urlunsplit(url._replace(query=urlencode(query, safe="/")))
    return f'href="{new.replace("&", "&amp;")}"'


STILL_CAPTION = (
    '<p class="fm-still-caption"><em>A still of an interactive explorer. To move its controls, '
    "open this page live: the rocket button at the top of the page (Binder or your class's hub), "
    "or <code>make lab</code> in a copy of the course.</em></p>"
)
STILL_CAPTION_ZH = (
    '<p class="fm-still-caption"><em>这是一个交互演示的静态画面。要拖动它的控件，请在线打开本页：'
    "点页面顶部的火箭按钮（Binder 或你们课程的 JupyterHub），或在课程副本中运行 "
    "<code>make lab</code>。</em></p>"
)


# The Chinese site is built from the Chinese edition (zh/, written by `make i18n` with the
# repository's layout) into the folder zh/ of the English site; each page links to its twin.
LANGS = ("en", "zh")
ZH_DIR = "zh"


def tree(lang: str = "en") -> Path:
    """Where a language's pages are: the repository, or its Chinese edition zh/."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}; got {lang!r}")
    return ROOT if lang == "en" else ROOT / ZH_DIR


def pages(audience: str = "student", lang: str = "en") -> dict[str, list[Path]]:
    """The site's pages by part, in the chapter's order, as paths in ``tree(lang)``.

    The student site leaves out the teacher's guide and the solutions (and every link to them).
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}; got {audience!r}")
    base = tree(lang)
    notebooks = sorted((base / "notebooks").glob("6_*.ipynb"))
    exercises = sorted((base / "exercises").glob("*.ipynb"))
    worksheets = sorted((base / "book" / "worksheets").glob("*.md"))
    reference = [
        p for p in (base / "notebooks" / "glossary.md", base / "notebooks" / "errata.md")
        if p.exists()
    ]  # fmt: skip
    parts = {
        "第6章 流匹配 · Chapter 6, Flow Matching": notebooks,
        "习题 · Exercises": exercises,
        "纸笔练习 · Worksheets for class": worksheets,
        "参考 · Reference": reference,
    }
    if audience == "teacher":
        parts["教师 · For teachers"] = [base / "TEACHING.md"] + sorted(
            (base / "solutions").glob("*.ipynb")
        )
    return parts


def stage(
    src: Path,
    settings: dict[str, str],
    audience: str = "student",
    only: str | None = None,
    lang: str = "en",
) -> list[Path]:
    """Copy the pages to ``src`` and write the table of contents; returns the staged notebooks.

    ``only``: a glob on file names (e.g. ``6_2*``): just those pages, for a quick look."""
    base = tree(lang)
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shutil.copy(base / "book" / "intro.md", src / "intro.md")
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    config["repository"].update(url=settings["repo_url"], branch=settings["branch"])
    if lang == "zh":  # Chinese interface and search (jieba), launch buttons open zh/ notebooks
        config["title"] = "流匹配 · 交互式学习"
        config["repository"]["path_to_book"] = ZH_DIR
        config["sphinx"]["config"]["language"] = "zh_CN"
    config["launch_buttons"].update(
        binderhub_url=settings["binder_url"], jupyterhub_url=settings["hub_url"]
    )
    (src / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    parts, staged = [], []
    for caption, files in pages(audience, lang).items():
        files = [f for f in files if only is None or f.match(only)]
        if not files:
            continue
        chapters = []
        for path in files:
            rel = path.relative_to(base)
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, src / rel)
            if lang == "zh" and path.suffix == ".ipynb":
                _drop_cell(src / rel, ZH_BANNER_ID)  # a note for maintainers, not for readers
            chapters.append({"file": str(rel.with_suffix(""))})
            if path.suffix == ".ipynb" and rel.parts[0] != "solutions":
                staged.append(src / rel)
        if lang == "zh":
            caption = caption.split(" · ")[0]
        parts.append({"caption": caption, "chapters": chapters})
    toc = {"format": "jb-book", "root": "intro", "parts": parts}
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, allow_unicode=True, sort_keys=False))
    for folder in ("notebooks", "exercises"):  # relative links between pages and READMEs
        readme = base / folder / "README.md"
        if readme.exists() and (src / folder).is_dir():
            shutil.copy(readme, src / folder / "README.md")
    return staged


ZH_BANNER_ID = "zh-generated-banner"  # tools/i18n.py's "generated, do not edit" cell


def _drop_cell(path: Path, cell_id: str) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") != cell_id]
    nbformat.write(nb, path)


def caption_stills(nb, state: dict | None = None) -> int:
    """After each explorer's output (a widget view with its PNG still), say how to open it live;
    then keep live only the explorers drawn in the page (their models are in ``state``)."""
    import nbformat

    from fmlib.widgets.client import WIDGET_VIEW, prune_outputs

    live = set((state or {}).get("state", {}))
    zh = nb.metadata.get("fmlib_i18n", {}).get("lang") == "zh_CN"  # a Chinese notebook
    caption = STILL_CAPTION_ZH if zh else STILL_CAPTION
    count = 0
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        for i in reversed(range(len(outputs))):
            data = outputs[i].get("data", {})
            model = data.get(WIDGET_VIEW, {}).get("model_id")
            if model in live:
                continue
            if WIDGET_VIEW in data and "image/png" in data:
                outputs.insert(i + 1, nbformat.v4.new_output(
                    "display_data", data={"text/html": caption}
                ))  # fmt: skip
                count += 1
    prune_outputs(nb, state)
    return count


def execute(path: Path, timeout_s: int = 600) -> tuple[str, float]:
    """Run one notebook in place, as shipped; returns (name, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    from fmlib.widgets.client import STATE_CODE, parse_state

    start = time.monotonic()
    nb = nbformat.read(path, as_version=4)
    is_exercise = path.parent.name == "exercises"
    # a last, hidden cell prints the state of the explorers drawn in the page (kept live)
    nb.cells.append(nbformat.v4.new_code_cell(STATE_CODE))
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        allow_errors=is_exercise,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    hidden = nb.cells.pop()
    stdout = "".join(o.get("text", "") for o in hidden.outputs if o.get("name") == "stdout")
    state = parse_state(stdout)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                text = "".join(html) if isinstance(html, list) else html
                output["data"]["text/html"] = CDN_STYLESHEET.sub("", text)
    caption_stills(nb, state)
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
    ran.cells = [c for c in ran.cells if c.get("id") != ZH_BANNER_ID]  # as stage() drops it
    for cell in ran.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                output["data"]["text/html"] = CDN_STYLESHEET.sub("", "".join(html))
    from fmlib.widgets.client import WIDGET_STATE

    caption_stills(ran, ran.metadata.get("widgets", {}).get(WIDGET_STATE))
    nbformat.write(ran, staged)
    return True


def build(
    out: Path,
    jobs: int,
    settings: dict[str, str],
    run: bool = True,
    executed: Path | None = None,
    audience: str = "student",
    pdf: bool = False,
    only: str | None = None,
    lang: str = "en",
) -> Path:
    if not (MATHJAX / "tex-chtml-full.js").exists():
        raise SystemExit(f"MathJax not found at {MATHJAX}: `make book` installs it from npm")
    if lang == "zh" and not (ROOT / ZH_DIR / "notebooks").is_dir():
        raise SystemExit(f"the Chinese edition is not in {ROOT / ZH_DIR}: run `make i18n`")
    src = out / "src"
    notebooks = stage(src, settings, audience, only, lang)
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
    copy_widget_scripts(html / "_static" / "widgets")
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = HUB_LAUNCH.sub(_hub_launch_into_course_folder, THEBE_SCRIPTS.sub("", text))
        page.write_text(text, encoding="utf-8")
    print(f"site ({audience}, {lang}): {html / 'index.html'}")
    if pdf:
        print(f"pdf: {print_pdf(html, html / PDF_NAME, audience, lang)}")
    return html


def build_both(out: Path, executed: Path | None = None, pdf: bool = False, **kwargs) -> Path:
    """The English site in ``out``, the Chinese one in its folder zh/, each page linked to its
    twin. ``executed`` (build/executed) holds the English runs, its zh/ the Chinese ones."""
    from concurrent.futures import ThreadPoolExecutor

    zh_executed = executed / ZH_DIR if executed is not None else None
    # the two Jupyter Book builds are separate processes: run them side by side (one per core)
    with ThreadPoolExecutor(1) as pool:
        zh_build = pool.submit(
            build, out / ZH_DIR, executed=zh_executed, pdf=pdf, lang="zh", **kwargs
        )
        html = build(out, executed=executed, pdf=pdf, lang="en", **kwargs)
        zh_html = zh_build.result()
    shutil.rmtree(html / ZH_DIR, ignore_errors=True)
    shutil.copytree(zh_html, html / ZH_DIR)
    print(f"language switches: {link_languages(html, html / ZH_DIR)} pages")
    return html


SWITCH = (
    '<p class="fm-lang-switch" style="text-align:right;margin:0 0 .5em;font-size:.9em">'
    '<a href="{href}" hreflang="{code}" lang="{code}">{label}</a></p>'
)
ARTICLE = re.compile(r'(<article class="bd-article"[^>]*>)')


def link_languages(en: Path, zh: Path) -> int:
    """Give each page of either site a link to the same page in the other language (where the
    other site has it); returns how many pages got one."""
    import posixpath

    count = 0
    for site, other, code, label in ((en, zh, "zh-CN", "中文"), (zh, en, "en", "English")):
        for page in site.rglob("*.html"):
            rel = page.relative_to(site).as_posix()
            if site == en and rel.startswith(f"{ZH_DIR}/"):
                continue
            if rel.startswith("_") or not (other / rel).exists():
                continue
            text = page.read_text(encoding="utf-8")
            if "fm-lang-switch" in text or not ARTICLE.search(text):
                continue
            href = posixpath.relpath((other / rel).as_posix(), page.parent.as_posix())
            link = SWITCH.format(href=href, code=code, label=label)
            start = ARTICLE.search(text).end()
            page.write_text(text[:start] + link + text[start:], "utf-8")
            count += 1
    return count


# The explorers drawn in the page stay live on the site, with no kernel: myst-nb writes each
# notebook's widget state into its page and, on those pages only, loads the scripts of
# ``nb_ipywidgets_js`` (book/_config.yml): require.js and the widget manager's embed script from
# npm, and anywidget's front end from the installed wheel (so that it matches the kernel's), all
# served from _static/widgets, so nothing is fetched from outside, even from file://.
NODE_MODULES = ROOT / ".venv" / "node" / "node_modules"
WIDGETS_CONFIG_JS = """// where the widget manager finds its modules: beside this script (works from file:// too)
(function () {
  var base = document.currentScript.src.replace(/[^/]*$/, "");
  window.require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": base + "html-manager/dist",
      anywidget: base + "anywidget/index",
    },
  });
})();
"""


def copy_widget_scripts(target: Path) -> None:
    import anywidget

    manager = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist"
    require = NODE_MODULES / "requirejs" / "require.js"
    if not (manager / "embed-amd.js").exists() or not require.exists():
        raise SystemExit(f"the widget manager is not in {NODE_MODULES}: `make book` installs it")
    shutil.copytree(manager, target / "html-manager" / "dist", dirs_exist_ok=True)
    shutil.copy(require, target / "require.js")
    (target / "anywidget").mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(anywidget.__file__).parent / "nbextension" / "index.js", target / "anywidget")
    (target / "config.js").write_text(WIDGETS_CONFIG_JS)


PDF_NAME = "flow-matching-interactively.pdf"
# every explorer kept live on a page has drawn its first frame (or there is none)
LIVE_DRAWN_JS = """() => {
    const views = document.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']");
    const roots = [...document.querySelectorAll('.fm-client-root')];
    return roots.length === views.length && roots.every(r => Number(r.dataset.draws) > 0);
}"""


def print_order(audience: str = "student", lang: str = "en") -> list[Path]:
    """The pages the PDF holds, as site paths: landing page, sections, errata, worksheets."""
    parts = pages(audience, lang)
    chosen = [Path("intro.md")]
    for caption, files in parts.items():
        if caption.startswith(("习题", "教师")):
            continue  # exercises are for doing, not for print; teachers print their own guide
        chosen += [p.relative_to(tree(lang)) for p in files if p.name != "glossary.md"]
    return [p.with_suffix(".html") for p in chosen]


def print_pdf(html: Path, target: Path, audience: str = "student", lang: str = "en") -> Path:
    """Print the site's pages in headless Chromium, each once MathJax has typeset it, into one PDF.

    Pages are served from a local HTTP server (the same pages a reader opens); nothing is fetched
    from outside the machine.
    """
    from playwright.sync_api import sync_playwright
    from pypdf import PdfWriter

    handler = functools.partial(_Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    writer = PdfWriter()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), headless=True, args=_CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.route(
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith(base) else r.abort(),
            )
            for rel in print_order(audience, lang):
                page.goto(f"{base}/{rel.as_posix()}")
                page.wait_for_load_state("load")
                page.evaluate("window.MathJax?.startup?.promise")
                with contextlib.suppress(Exception):  # the live explorers' first frames
                    page.wait_for_function(LIVE_DRAWN_JS, timeout=20_000)
                part = target.with_suffix(f".{len(writer.pages)}.part")
                page.pdf(path=str(part), format="A4", print_background=True,
                         margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})  # fmt: skip
                writer.append(str(part))
                part.unlink()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    with target.open("wb") as f:
        writer.write(f)
    return target


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


_CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


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
    parser.add_argument(
        "--audience",
        choices=AUDIENCES,
        default=os.environ.get("AUDIENCE", "student"),
        help="student (default): no teacher's guide, no solutions; teacher: both added",
    )
    parser.add_argument("--pdf", action="store_true", help="also print the site into one PDF")
    parser.add_argument(
        "--lang",
        choices=(*LANGS, "both"),
        default="both",
        help="both (default): the English site with the Chinese one in its zh/ folder",
    )
    parser.add_argument(
        "--only",
        help="only the pages whose file name matches this glob (e.g. '6_2*'): a quick look",
    )
    args = parser.parse_args(argv)
    settings = {
        "repo_url": os.environ.get(
            "REPO_URL", "https://github.com/ORG/flow-matching-interactively"
        ),
        "branch": os.environ.get("BRANCH", STUDENT_BRANCH),
        "binder_url": os.environ.get("BINDER_URL", "https://mybinder.org"),
        "hub_url": os.environ.get("HUB_URL", "https://jupyterhub.example.edu"),
    }
    common = dict(
        jobs=args.jobs,
        settings=settings,
        run=not args.no_execute,
        audience=args.audience,
        only=args.only,
    )
    if args.lang == "both":
        build_both(args.out.resolve(), executed=args.executed, pdf=args.pdf, **common)
    else:
        build(args.out.resolve(), executed=args.executed, pdf=args.pdf, lang=args.lang, **common)


if __name__ == "__main__":
    main()
