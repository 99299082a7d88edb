"""The course site (make book), served on 127.0.0.1 and read in Chromium as a student would.

The site is built once per run from the current notebooks (tools/build_book.py: every notebook
executed as shipped), then every section page is checked: its figures load, its equations are
typeset by the local MathJax, its animation plays, the next-page link leads on, nothing is fetched
from outside the machine, and the console stays clean. It is the students' site: no teacher's
guide, no solutions, no link that leads nowhere; every explorer still says how to open it live;
the errata page lists every note on the text; the course PDF opens. Screenshots go to
test-artifacts/site-*.png.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import lab as labmod
import pytest

ROOT = labmod.REPO_ROOT


def _build_book_module():
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "tools" / "build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_book_module()
SECTIONS = [
    p.relative_to(ROOT).with_suffix(".html") for p in BUILD.pages()[next(iter(BUILD.pages()))]
]
# the Chinese site is the folder zh/ of the English one, page for page
_ZH_PAGES = BUILD.pages(lang="zh")
ZH_SECTIONS = [
    Path(BUILD.ZH_DIR) / p.relative_to(BUILD.tree("zh")).with_suffix(".html")
    for p in _ZH_PAGES[next(iter(_ZH_PAGES))]
]


SITE_DIRS: dict[str, Path] = {}  # served address -> the folder it serves


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site (one notebook at a time: the test run uses the other core) and serve it.

    FMLIB_SITE_HTML=path/to/_build/html serves a site already built instead (a quick loop).
    """
    prebuilt = os.environ.get("FMLIB_SITE_HTML")
    out = tmp_path_factory.mktemp("book")
    html = Path(prebuilt) if prebuilt else BUILD.build_both(out, jobs=1, settings={
        "repo_url": "https://github.com/ORG/flow-matching-interactively", "branch": "student",
        "binder_url": "https://mybinder.org", "hub_url": "https://jupyterhub.example.edu",
    }, pdf=True)  # fmt: skip
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    SITE_DIRS[url] = html
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=labmod.chromium_path(), headless=True, args=labmod.CHROMIUM_ARGS
        )
        yield b
        b.close()


@contextlib.contextmanager
def reader(browser, width=1280, height=900):
    """A page that records outside requests (and aborts them), console errors and page errors."""
    context = browser.new_context(viewport={"width": width, "height": height})
    seen = {"outside": [], "console": [], "page": []}

    def route(r):
        url = urlparse(r.request.url)
        if url.hostname == "127.0.0.1" or url.scheme == "file":  # the site, served or on disk
            r.continue_()
        else:
            seen["outside"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and seen["console"].append(m.text))
    page.on("pageerror", lambda e: seen["page"].append(str(e)))
    try:
        yield page, seen
    finally:
        context.close()


def test_the_site_lists_every_section_in_the_chapters_order(site, browser):
    assert SECTIONS, "no section notebooks found"
    with reader(browser) as (page, seen):
        page.goto(f"{site}/intro.html")
        nav = page.locator("nav.bd-links a.reference").all_inner_texts()
        numbers = [text.split()[0] for text in nav if text[:2] == "6."]
        assert numbers == sorted(numbers) and len(numbers) >= len(SECTIONS), nav
        page.screenshot(path=str(labmod.ARTIFACTS_DIR / "site-intro.png"))
        assert not seen["outside"], seen["outside"]
        # Chinese renders as characters: with no CJK font every glyph is the same empty box
        assert page.evaluate(CJK_GLYPHS_DIFFER), "Chinese renders as boxes: install a CJK font"


CJK_GLYPHS_DIFFER = """() => {
  const font = getComputedStyle(document.querySelector('h1')).font;
  const draw = (ch) => {
    const c = document.createElement('canvas'); c.width = c.height = 64;
    const g = c.getContext('2d'); g.font = font.replace(/\\d+(\\.\\d+)?px/, '48px');
    g.fillText(ch, 4, 52); return g.getImageData(0, 0, 64, 64).data.join(',');
  };
  return draw('流') !== draw('配') && draw('流') !== draw('\\uE000');
}"""


@pytest.mark.parametrize(
    "section",
    SECTIONS + ZH_SECTIONS,
    ids=[s.stem for s in SECTIONS] + [f"zh-{s.stem}" for s in ZH_SECTIONS],
)
def test_a_section_page_reads_well_offline(site, browser, section):
    labmod.ARTIFACTS_DIR.mkdir(exist_ok=True)
    with reader(browser) as (page, seen):
        page.goto(f"{site}/{section.as_posix()}")
        page.wait_for_load_state("load")
        wait_live_explorers(page)
        # figures: at least one, and every image decoded
        images = page.evaluate(
            "[...document.querySelectorAll('article img')].map(i => [i.src, i.naturalWidth])"
        )
        assert images, "no figures on the page"
        broken = [src for src, width in images if width == 0]
        assert not broken, f"broken images: {broken}"
        # equations: typeset by MathJax, none left as raw TeX
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("MathJax.startup.promise")
        typeset = page.locator("mjx-container").count()
        assert typeset > 0, "no typeset equations"
        raw = page.evaluate(
            "[...document.querySelectorAll('article p, article li')]"
            ".map(e => e.innerText).filter(t => /\\$[^$\\s][^$]*\\$/.test(t))"
        )
        assert not raw, f"raw TeX left on the page: {raw[:3]}"
        # launch buttons: Binder and the class hub (nbgitpuller) for this very notebook
        launch = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
        name = section.with_suffix(".ipynb").as_posix()
        assert any("mybinder.org" in h and name in h for h in launch), f"no Binder link to {name}"
        hub = [h for h in launch if "/git-pull?" in h and name in h]
        assert hub, f"no hub link to {name}"
        # the students' release, pulled into the folder every course link uses
        assert all("branch=student" in h and "targetpath=flow-matching" in h for h in hub), hub
        assert all(f"urlpath=lab/tree/flow-matching/{name}" in h for h in hub), hub
        page.screenshot(
            path=str(labmod.ARTIFACTS_DIR / f"site-{'-'.join(section.with_suffix('').parts)}.png"),
            full_page=False,
        )
        assert not seen["outside"], f"requests left the machine: {seen['outside'][:5]}"
        assert not seen["page"], seen["page"]
        assert not seen["console"], seen["console"]


LIVE_VIEWS = "script[type='application/vnd.jupyter.widget-view+json']"


def wait_live_explorers(page, timeout_ms: int = 20_000) -> int:
    """Wait until every explorer kept live on the page has drawn its first frame; how many."""
    count = page.locator(LIVE_VIEWS).count()
    if count:
        page.wait_for_function(
            """(n) => { const roots = [...document.querySelectorAll('.fm-client-root')];
                return roots.length === n && roots.every(r => Number(r.dataset.draws) > 0
                    && [...r.querySelectorAll('img')].every(i => i.complete && i.naturalWidth)); }""",
            arg=count,
            timeout=timeout_ms,
        )
    return count


def test_explorers_drawn_in_the_page_are_live_offline(site, browser):
    """The explorers drawn in the page run in the site with no kernel: Play and the t slider
    move the picture (the first explorer with a Play on each page), the other controls of the
    posterior, solver and guidance explorers too; nothing leaves the machine, the console stays
    clean; the same from file://."""
    live = {}
    html = _html_root(site)
    with reader(browser) as (page, seen):
        for section in [s for s in SECTIONS if (html / s).exists()]:
            page.goto(f"{site}/{section.as_posix()}")
            page.wait_for_load_state("load")
            live[section.stem] = wait_live_explorers(page)
            if not live[section.stem]:
                continue
            for kind in ("posterior", "solver", "guidance"):  # their own controls, no kernel
                other = page.locator(f".fm-{kind}-explorer .fm-client-root")
                if other.count():
                    _moves_without_a_kernel(page, other.first)
            root = page.locator(".fm-client-root:has(.fm-client-play)").first
            root.scroll_into_view_if_needed()
            start = root.get_attribute("data-state")
            root.locator(".fm-client-play").click()
            page.wait_for_function(
                "([el, s]) => el.dataset.state !== s", arg=[root.element_handle(), start]
            )
            root.locator(".fm-client-play").click()  # pause
            slider = root.locator("input.fm-client-slider[aria-label='t']")
            slider.focus()
            page.keyboard.press("End")
            t_readout = slider.locator("xpath=following-sibling::span[1]")  # t's own readout
            assert t_readout.inner_text() == "1.00"
            page.screenshot(path=str(labmod.ARTIFACTS_DIR / f"site-live-{section.stem}.png"))
        assert not seen["outside"], seen["outside"][:5]
        assert not seen["page"] and not seen["console"], (seen["page"], seen["console"])
    # 6.1: divergence and flow; 6.2: a flow explorer and the paths; 6.3: the posterior;
    # 6.4: diffusion; 6.5: paths, solver, guidance
    expected = {"6_1": 2, "6_2": 2, "6_3": 1, "6_4": 1, "6_5": 3}
    for stem, count in live.items():
        assert count >= expected.get(stem[:3], 0), live
    assert sum(live.values()) >= 1, live
    # from the disk, as a student who downloaded the site opens it
    stem = max(live, key=live.get)
    page_file = next(p for p in SECTIONS if p.stem == stem)
    with reader(browser) as (page, seen):
        page.goto((html / page_file).resolve().as_uri())
        page.wait_for_load_state("load")
        assert wait_live_explorers(page) == live[stem]
        assert not seen["outside"] and not seen["page"] and not seen["console"], seen


def _moves_without_a_kernel(page, root) -> None:
    """A slider step (keyboard) and, where there are buttons, another button: each a new state
    and a new picture, drawn by the page."""
    root.scroll_into_view_if_needed()
    canvas = root.locator("canvas")
    before = (root.get_attribute("data-state"), canvas.evaluate("c => c.toDataURL()"))
    root.locator("input.fm-client-slider").first.focus()
    page.keyboard.press("ArrowLeft")
    options = root.locator(".fm-client-option")
    if options.count() > 1:
        options.nth(1).click()
    after = (root.get_attribute("data-state"), canvas.evaluate("c => c.toDataURL()"))
    assert after[0] != before[0] and after[1] != before[1], (before[0], after[0])


def test_an_animation_plays(site, browser):
    with reader(browser) as (page, seen):
        for section in SECTIONS:
            page.goto(f"{site}/{section.as_posix()}")
            animations = page.locator(".animation")
            if animations.count():
                break
        else:
            pytest.fail("no to_jshtml animation on any section page")
        anim = animations.first
        anim.scroll_into_view_if_needed()
        slider = anim.locator("input[type=range]")
        before = int(slider.input_value())
        anim.locator("button[onclick*='play_animation']").click()
        page.wait_for_function(
            f"el => parseInt(el.value) > {before}", arg=slider.element_handle(), timeout=10_000
        )
        anim.locator("button[onclick*='pause_animation']").click()
        page.screenshot(path=str(labmod.ARTIFACTS_DIR / "site-animation.png"))
        assert not seen["outside"], seen["outside"]


def test_next_links_walk_the_sections_in_order(site, browser):
    with reader(browser) as (page, _):
        page.goto(f"{site}/{SECTIONS[0].as_posix()}")
        for expected in SECTIONS[1:]:
            page.locator("a.right-next").click()
            page.wait_for_load_state()
            assert Path(urlparse(page.url).path).name == expected.name


def test_search_finds_a_term_offline(site, browser):
    with reader(browser) as (page, seen):
        page.goto(f"{site}/search.html?q=divergence")
        page.wait_for_selector("#search-results li", timeout=15_000)
        assert page.locator("#search-results li").count() > 0
        assert not seen["outside"], seen["outside"]


def _html_root(site: str) -> Path:
    return SITE_DIRS[site]


def _internal_links(html: Path) -> dict[Path, list[str]]:
    """Every page's links to other files of the site (no anchors, no outside addresses)."""
    import re

    links = {}
    for page in html.rglob("*.html"):
        if "_static" in page.relative_to(html).parts:  # the theme's templates, either site's
            continue
        text = page.read_text(encoding="utf-8")
        hrefs = re.findall(r'(?:href|src)="([^"#?]+)', text)
        links[page] = [
            h
            for h in hrefs
            if "://" not in h and not h.startswith(("mailto:", "data:", "javascript:"))
        ]
    return links


def test_the_student_site_has_no_teachers_guide_no_solutions_and_no_dead_links(site):
    html = _html_root(site)
    assert not list(html.rglob("TEACHING*")), "the teacher's guide is on the students' site"
    assert not (html / "solutions").exists(), "solutions are on the students' site"
    dead, forbidden = [], []
    for page, hrefs in _internal_links(html).items():
        for href in hrefs:
            target = (page.parent / href).resolve()
            if "solutions/" in href or "TEACHING" in href:
                forbidden.append(f"{page.relative_to(html)} -> {href}")
            elif not target.exists():
                dead.append(f"{page.relative_to(html)} -> {href}")
    assert not forbidden, f"links to teachers' pages: {forbidden[:5]}"
    assert not dead, f"dead links: {dead[:5]}"
    text = "".join(p.read_text(encoding="utf-8") for p in html.rglob("*.html"))
    assert "BEGIN SOLUTION" not in text


def test_every_explorer_still_says_how_to_open_it_live(site, browser):
    stills = live = 0
    with reader(browser) as (page, seen):
        for section in SECTIONS:
            page.goto(f"{site}/{section.as_posix()}")
            # each caption follows an output that shows the explorer's PNG still
            pairs = page.evaluate(
                """() => [...document.querySelectorAll('.fm-still-caption')].map(c => {
                    const out = c.closest('.output');
                    const before = out && out.previousElementSibling;
                    return !!(before && (before.tagName === 'IMG' || before.querySelector('img')));
                })"""
            )
            assert all(pairs), f"{section}: a caption without a still before it"
            stills += len(pairs)
            live += page.locator(LIVE_VIEWS).count()  # drawn in the page: live, no caption
        # every section has an explorer, kept live or captioned; the kernel-drawn ones captioned
        assert stills + live >= len(SECTIONS), f"only {stills} stills captioned, {live} live"
        # the kernel-drawn ones: 6.1's Hutchinson probes, 6.6's digits (the others are live)
        assert stills >= 2, f"only {stills} explorer stills captioned"
        assert not seen["outside"], seen["outside"]


def test_the_errata_page_lists_every_note_on_the_text(site, browser):
    errata = _tool("errata")
    notes = errata.all_notes()
    with reader(browser) as (page, seen):
        page.goto(f"{site}/notebooks/errata.html")
        entries = page.locator("article h3")
        assert entries.count() == len(notes) > 0
        first = entries.first.inner_text()
        assert "「" in first, first
        assert page.locator("article h2").first.inner_text().startswith("6.1"), "chapter order"
        # every note reads in the article's column: nothing scrolls sideways
        wide = page.evaluate(
            """() => { const a = document.querySelector('article');
                return [a.scrollWidth, a.clientWidth]; }"""
        )
        assert wide[0] <= wide[1] + 1, f"the errata page is wider than its column: {wide}"
        page.screenshot(path=str(labmod.ARTIFACTS_DIR / "site-errata.png"))
        assert not seen["outside"], seen["outside"]


def test_the_course_pdf_opens_with_every_section(site):
    from pypdf import PdfReader

    pdf = _html_root(site) / BUILD.PDF_NAME
    reader_ = PdfReader(str(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader_.pages)
    assert len(reader_.pages) >= 2 * len(SECTIONS), len(reader_.pages)
    for section in SECTIONS:
        number = section.stem[:3].replace("_", ".")  # 6_1_... -> 6.1
        assert number in text, f"section {number} is not in the PDF"
    assert "Notes on the text" in text and "Worksheet" in text
    # the Chinese site has its own, in Chinese
    zh = PdfReader(str(_html_root(site) / BUILD.ZH_DIR / BUILD.PDF_NAME))
    zh_text = "\n".join(page.extract_text() or "" for page in zh.pages)
    assert len(zh.pages) >= 2 * len(ZH_SECTIONS), len(zh.pages)
    assert "勘误表" in zh_text and "流匹配" in zh_text


def _tool(name: str):
    import sys

    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_chinese_site_is_chinese_and_each_page_links_to_its_twin(site, browser):
    """The Chinese pages render their glyphs, are written in Chinese (not a copy of the English),
    and the language switch leads from each page to the same page in the other language."""
    assert len(ZH_SECTIONS) == len(SECTIONS)
    with reader(browser) as (page, seen):
        for en, zh in zip(SECTIONS, ZH_SECTIONS, strict=True):
            page.goto(f"{site}/{zh.as_posix()}")
            assert page.evaluate(CJK_GLYPHS_DIFFER), f"{zh}: Chinese renders as boxes"
            prose = page.evaluate(
                "[...document.querySelectorAll('article p')].map(p => p.innerText).join('')"
            )
            cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in prose)
            # the "generated, do not edit" note is for maintainers, not on the page
            assert "make i18n" not in prose, f"{zh}: the maintainers' banner is on the page"
            assert cjk > 0.3 * len(prose.replace(" ", "")), f"{zh}: the prose is not Chinese"
            switch = page.locator(".fm-lang-switch a")
            assert switch.inner_text() == "English"
            switch.click()
            page.wait_for_load_state()
            assert urlparse(page.url).path == f"/{en.as_posix()}", page.url
            back = page.locator(".fm-lang-switch a")
            assert back.inner_text() == "中文"
            back.click()
            page.wait_for_load_state()
            assert urlparse(page.url).path == f"/{zh.as_posix()}", page.url
        page.goto(f"{site}/{ZH_DIR_INTRO}")
        nav = page.locator("nav.bd-links").inner_text()
        assert "第6章 流匹配" in nav and "Chapter 6" not in nav, nav
        page.screenshot(path=str(labmod.ARTIFACTS_DIR / "site-zh-intro.png"))
        assert not seen["outside"] and not seen["page"] and not seen["console"], seen


ZH_DIR_INTRO = f"{BUILD.ZH_DIR}/intro.html"


def test_chinese_search_finds_the_divergence_sections_offline(site, browser):
    """Sphinx splits the Chinese pages' words with jieba: "散度" (divergence) finds the sections
    about it (6.1's Hutchinson estimator and 6.3's continuity equation speak of nothing else)."""
    with reader(browser) as (page, seen):
        page.goto(f"{site}/{BUILD.ZH_DIR}/search.html?q=散度")
        page.wait_for_selector("#search-results li", timeout=15_000)
        found = page.locator("#search-results li a").evaluate_all("as => as.map(a => a.href)")
        assert any("6_1_" in h for h in found) and any("6_3_" in h for h in found), found
        assert all(f"/{BUILD.ZH_DIR}/" in h for h in found), found
        page.screenshot(path=str(labmod.ARTIFACTS_DIR / "site-zh-search.png"))
        assert not seen["outside"], seen["outside"]
