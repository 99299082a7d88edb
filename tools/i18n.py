"""The Chinese edition, written from the English sources and their translations: `make i18n`.

Every translated source has a translation file beside the sources, `i18n/zh_CN/<source>.yml`:
  * a notebook (`notebooks/*.ipynb`, `solutions/*.ipynb`): one entry per markdown cell, keyed by
    the cell's id;
  * a page (README.md, TEACHING.md, the glossary, the exercises' README): one entry per section,
    a section being a heading line and what follows it up to the next heading.
Each entry keeps the English it translates (`en`), that text's hash (`sha`) and the Chinese (`zh`).

The tool writes the Chinese edition:
  * `zh/notebooks/`, `zh/solutions/`: the English notebook with each markdown cell translated, a
    "generated, do not edit" banner first, code cells identical except the opening cell's
    `fm.configure(...)`, which gains `lang="zh"` (fmlib then prints and draws in Chinese);
  * `zh/exercises/`: generated from `zh/solutions/` exactly as `make exercises` does;
  * `README.zh-CN.md` beside README.md, and the other pages in `zh/` where the English is in the
    repository (`zh/TEACHING.md`, `zh/notebooks/glossary.md`, `zh/notebooks/errata.md`, ...).
Links are rewritten to the Chinese counterpart where there is one.

    python tools/i18n.py              # write the Chinese edition
    python tools/i18n.py --check      # exit 1 on a missing or stale translation, a changed
                                      # formula or link, a dropped number, a hand-edited file
    python tools/i18n.py todo [SRC]   # what is missing or stale, with the English (and its diff)
    python tools/i18n.py skeleton [SRC]  # add entries (empty zh) for new cells and sections
    python tools/i18n.py set SRC KEY [FILE]  # store FILE's text (stdin: -) as KEY's Chinese,
                                             # with the current English and its hash
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import posixpath
import re
import sys
from collections import Counter
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
LANG_DIR = "i18n/zh_CN"
ZH_TREE = "zh"
BANNER_ID = "zh-generated-banner"


# --- what is translated, and where the Chinese goes ------------------------------------------


def notebook_sources(root: Path = ROOT) -> list[str]:
    found = sorted(root.glob("notebooks/*.ipynb")) + sorted(root.glob("solutions/*.ipynb"))
    return [p.relative_to(root).as_posix() for p in found]


# The Chinese tree zh/ mirrors the repository's layout, so that the links between its files, and
# the course site built from it, work as the English ones do; README.zh-CN.md stays beside README.
PAGES = {
    "README.md": "README.zh-CN.md",
    "TEACHING.md": f"{ZH_TREE}/TEACHING.md",
    "notebooks/glossary.md": f"{ZH_TREE}/notebooks/glossary.md",
    "exercises/README.md": f"{ZH_TREE}/exercises/README.md",
    "solutions/README.md": f"{ZH_TREE}/solutions/README.md",
    "book/intro.md": f"{ZH_TREE}/book/intro.md",
    "book/worksheets/session-1.md": f"{ZH_TREE}/book/worksheets/session-1.md",
    "book/worksheets/session-2.md": f"{ZH_TREE}/book/worksheets/session-2.md",
}


def page_sources(root: Path = ROOT) -> list[str]:
    return [src for src in PAGES if (root / src).exists()]


def target(src: str) -> str:
    """Where the Chinese of an English source is written (relative to the root)."""
    if src in PAGES:
        return PAGES[src]
    return f"{ZH_TREE}/{src}"


def translation_file(src: str) -> str:
    return f"{LANG_DIR}/{src}.yml"


def counterparts(root: Path = ROOT) -> dict[str, str]:
    """English path -> Chinese path, for every file of the Chinese edition (links follow it)."""
    pairs = {src: target(src) for src in notebook_sources(root) + page_sources(root)}
    for sol in root.glob("solutions/*.ipynb"):
        pairs[f"exercises/{sol.name}"] = f"{ZH_TREE}/exercises/{sol.name}"
    if (root / "notebooks/errata.md").exists():
        pairs["notebooks/errata.md"] = f"{ZH_TREE}/notebooks/errata.md"
    return pairs


# --- hashing, splitting, checking one text ---------------------------------------------------


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_HEADING = re.compile(r"^#{1,6} ")
_FENCE = re.compile(r"^(```|~~~)")


def sections(text: str) -> list[tuple[str, str]]:
    """A page cut at its heading lines (outside code fences): [(key, text)], in order.

    The key is the heading line (the text before the first heading gets ``"(preamble)"``); a
    heading that occurs again gets `` #2``, `` #3``, ... so that every key is unique.
    """
    out: list[list[str]] = [["(preamble)", ""]]
    fenced = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced and _HEADING.match(line):
            out.append([line.rstrip("\n"), ""])
        out[-1][1] += line
    if not out[0][1]:
        out.pop(0)
    seen: Counter = Counter()
    result = []
    for key, body in out:
        seen[key] += 1
        result.append((key if seen[key] == 1 else f"{key} #{seen[key]}", body))
    return result


# inline math may go on to the next line of its paragraph (never across a blank line)
_MATH = re.compile(r"\$\$.+?\$\$|\$(?:[^$\n]|\n(?![ \t]*\n))+?\$", re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_CODE = re.compile(r"`[^`\n]+`")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def math_spans(text: str) -> Counter:
    """The formulas of a text, each with its white space collapsed (a formula rewrapped onto one
    line is the same formula)."""
    return Counter(" ".join(m.group(0).split()) for m in _MATH.finditer(text))


def links(text: str) -> Counter:
    return Counter(m.group(1) for m in _LINK.finditer(text))


def numbers(text: str) -> Counter:
    """Numbers of the prose (not inside math, code, links or HTML comments)."""
    for pattern in (_MATH, _CODE, re.compile(r"\]\([^)]*\)"), re.compile(r"<!--.*?-->", re.S)):
        text = pattern.sub(" ", text)
    return Counter(_NUMBER.findall(text))


def problems_of(en: str, zh: str) -> list[str]:
    """What a translation changed that it must keep: formulas, link targets, numbers."""
    out = []
    lost = math_spans(en) - math_spans(zh)
    added = math_spans(zh) - math_spans(en)
    if lost or added:
        out.append(
            f"formulas differ from the English: missing {sorted(lost)}, extra {sorted(added)}"
        )
    if links(en) != links(zh):
        out.append(
            f"link targets differ: missing {sorted(links(en) - links(zh))}, "
            f"extra {sorted(links(zh) - links(en))}"
        )
    dropped = numbers(en) - numbers(zh)
    if dropped:
        out.append(f"numbers of the English missing from the Chinese: {sorted(dropped)}")
    return out


# --- translation files -----------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def load(src: str, root: Path = ROOT) -> dict:
    path = root / translation_file(src)
    if not path.exists():
        return {"source": src, "entries": []}
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault("entries", [])
    return data


def save(src: str, data: dict, root: Path = ROOT) -> None:
    path = root / translation_file(src)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = (
        f"# 中文译文 · The Chinese translation of {src}, one entry per "
        f"{'markdown cell' if src.endswith('.ipynb') else 'section'}.\n"
        "# en: the English it translates; sha: that English's hash; zh: the Chinese.\n"
        "# `python tools/i18n.py todo` lists what is missing or stale; `make i18n` writes the edition.\n"
    )
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(head + body)


def english_units(src: str, root: Path = ROOT) -> list[tuple[str, str]]:
    """[(key, English text)] of one source: markdown cells by id, or page sections."""
    if src.endswith(".ipynb"):
        nb = nbformat.read(root / src, as_version=4)
        return [(c.id, c.source) for c in nb.cells if c.cell_type == "markdown"]
    return sections((root / src).read_text())


def status(src: str, root: Path = ROOT) -> dict[str, list]:
    """missing / stale / orphan / bad entries of one source's translation."""
    units = english_units(src, root)
    entries = {e["key"]: e for e in load(src, root)["entries"]}
    out: dict[str, list] = {"missing": [], "stale": [], "orphan": [], "bad": []}
    for key, en in units:
        entry = entries.get(key)
        if entry is None or not (entry.get("zh") or "").strip():
            out["missing"].append((key, en, None))
        elif entry.get("sha") != sha(en):
            out["stale"].append((key, en, entry))
        else:
            if entry.get("en") != en:
                out["bad"].append((key, "its `en` is not the English its sha names"))
            for problem in problems_of(en, entry["zh"]):
                out["bad"].append((key, problem))
    keys = {key for key, _ in units}
    out["orphan"] = [key for key in entries if key not in keys]
    return out


def skeleton(src: str, root: Path = ROOT) -> tuple[int, list[str]]:
    """Add an entry (empty zh) for each new unit, keep the others, drop orphans; in order."""
    old = {e["key"]: e for e in load(src, root)["entries"]}
    entries, added = [], 0
    for key, en in english_units(src, root):
        if key in old:
            entries.append(old[key])
        else:
            entries.append({"key": key, "sha": sha(en), "en": en, "zh": ""})
            added += 1
    orphans = [key for key in old if key not in {e["key"] for e in entries}]
    save(src, {"source": src, "entries": entries}, root)
    return added, orphans


def set_translation(src: str, key: str, zh: str, root: Path = ROOT) -> list[str]:
    """Store ``zh`` as the translation of ``key`` (the English and hash as they are now); return
    what ``problems_of`` finds in it."""
    units = dict(english_units(src, root))
    if key not in units:
        raise SystemExit(f"{src} has no markdown cell or section {key!r}")
    data = load(src, root)
    entries = {e["key"]: e for e in data["entries"]}
    entries[key] = {
        "key": key,
        "sha": sha(units[key]),
        "en": units[key],
        "zh": zh.rstrip("\n") + "\n",
    }
    ordered = [entries[k] for k, _ in english_units(src, root) if k in entries]
    save(src, {"source": src, "entries": ordered}, root)
    return problems_of(units[key], zh)


# --- writing the edition ---------------------------------------------------------------------


TRANSLATED_FOLDERS = {"notebooks", "solutions", "exercises"}
# pages whose links are relative to the course site's root, not to their own folder: the landing
# page (staged at the root of either site, where its links work as written)
SITE_RELATIVE = {"book/intro.md"}


def rewrite_links(text: str, src: str, pairs: dict[str, str]) -> str:
    """Relative links of `src`'s text, made to work from target(src): to the Chinese counterpart
    where there is one, else to the English file."""
    if src in SITE_RELATIVE:
        return text
    here, there = posixpath.dirname(src), posixpath.dirname(target(src))

    def fix(match: re.Match) -> str:
        link = match.group(1)
        if re.match(r"^[a-z]+:|^#|^/", link):
            return match.group(0)
        path, _, anchor = link.partition("#")
        resolved = posixpath.normpath(posixpath.join(here, path)) if path else src
        new = pairs.get(resolved, resolved)
        if resolved in TRANSLATED_FOLDERS:  # a folder of the edition: its Chinese twin
            new = f"{ZH_TREE}/{resolved}"
        rel = posixpath.relpath(new, there or ".") if path else ""
        if path.endswith("/") and not rel.endswith("/"):
            rel += "/"
        return f"]({rel}{'#' + anchor if anchor else ''})"

    return _LINK.sub(fix, text)


def banner_text(src: str, lang_line: bool) -> str:
    extra = (
        '代码单元与英文版相同，只有开头一格的 `fm.configure(...)` 多了 `lang="zh"`，'
        "使 fmlib 的输出与图中文字为中文。"
        if lang_line
        else ""
    )
    return (
        f"> **本文件由 `make i18n`（`tools/i18n.py`）根据英文原文 `{src}` 与译文 "
        f"`{translation_file(src)}` 生成，请勿直接编辑。** 修改译文请编辑该 `.yml` 文件后重新运行 "
        f"`make i18n`。{extra}\n"
        f"> *Generated from `{src}` and its translation by `make i18n`: do not edit.*"
    )


_CONFIGURE = re.compile(r"(fm\.configure\()([^)]*)\)")


def zh_notebook(src: str, pairs: dict[str, str], root: Path = ROOT) -> nbformat.NotebookNode:
    nb = nbformat.read(root / src, as_version=4)
    entries = {e["key"]: e for e in load(src, root)["entries"]}
    configured = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            entry = entries.get(cell.id)
            if entry and (entry.get("zh") or "").strip():
                cell.source = rewrite_links(entry["zh"].rstrip("\n"), src, pairs)
            else:
                cell.source = rewrite_links(cell.source, src, pairs)
        elif cell.cell_type == "code" and not configured and _CONFIGURE.search(cell.source):
            cell.source = _CONFIGURE.sub(
                lambda m: f'{m.group(1)}{m.group(2)}{", " if m.group(2).strip() else ""}lang="zh")',
                cell.source,
                count=1,
            )
            configured = True
    first = nbformat.v4.new_markdown_cell(banner_text(src, configured))
    first.id = BANNER_ID
    nb.cells.insert(0, first)
    nb.metadata["language_info"] = nb.metadata.get("language_info", {"name": "python"})
    nb.metadata["fmlib_i18n"] = {"lang": "zh_CN", "source": src}
    return nb


def zh_page(src: str, pairs: dict[str, str], root: Path = ROOT) -> str:
    entries = {e["key"]: e for e in load(src, root)["entries"]}
    parts = []
    for key, en in sections((root / src).read_text()):
        entry = entries.get(key)
        text = entry["zh"] if entry and (entry.get("zh") or "").strip() else en
        parts.append(rewrite_links(text.rstrip("\n") + "\n", src, pairs))
    comment = (
        f"<!-- 本文件由 make i18n 根据 {src} 与 {translation_file(src)} 生成，请勿直接编辑。 "
        f"Generated from {src} by make i18n: do not edit. -->\n"
    )
    return comment + "\n".join(parts)


def _tool(name: str):
    """A module of tools/ (no package), imported once."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    return __import__(name)


def zh_errata(root: Path = ROOT) -> str:
    """The errata page of the Chinese notebooks, as tools/errata.py writes the English one."""
    paths = sorted((root / ZH_TREE / "notebooks").glob("*.ipynb"))
    return _tool("errata").render_for(paths, lang="zh", root=root)


ZH_EXERCISE_BANNER = (
    "> **本练习由 `make i18n` 根据中文版答案 `{zh}/solutions/{name}` 生成（与 "
    "`make exercises` 的做法相同），请勿直接编辑。** 答案不随学生版发放，故此处只写文件名，"
    "不给链接。\n> *Generated from the Chinese solution notebook by `make i18n`: do not edit.*"
)


def zh_exercise(name: str, root: Path = ROOT) -> str:
    banner = ZH_EXERCISE_BANNER.format(zh=ZH_TREE, name=name)
    return _tool("make_exercises").exercise(root / ZH_TREE / "solutions" / name, banner)


def edition(root: Path = ROOT) -> dict[str, str]:
    """Every file of the Chinese edition: {path relative to root: text}. Order matters: the
    exercises are generated from the Chinese solutions, which are written first."""
    pairs = counterparts(root)
    files: dict[str, str] = {}
    for src in notebook_sources(root):
        files[target(src)] = nbformat.writes(zh_notebook(src, pairs, root)) + "\n"
    for src in page_sources(root):
        files[target(src)] = zh_page(src, pairs, root)
    return files


def write(files: dict[str, str], root: Path = ROOT) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def derived(root: Path = ROOT) -> dict[str, str]:
    """The files generated from the written Chinese notebooks: exercises and the errata page."""
    files = {}
    for sol in sorted((root / "solutions").glob("*.ipynb")):
        files[f"{ZH_TREE}/exercises/{sol.name}"] = zh_exercise(sol.name, root)
    files[f"{ZH_TREE}/notebooks/errata.md"] = zh_errata(root)
    return files


# --- commands --------------------------------------------------------------------------------


def check(root: Path = ROOT) -> list[str]:
    failures = []
    for src in notebook_sources(root) + page_sources(root):
        st = status(src, root)
        where = translation_file(src)
        failures += [f"{where}: {key}: no translation" for key, _, _ in st["missing"]]
        failures += [f"{where}: {key}: stale (the English changed)" for key, _, _ in st["stale"]]
        failures += [f"{where}: {key}: no such cell or section in {src}" for key in st["orphan"]]
        failures += [f"{where}: {key}: {why}" for key, why in st["bad"]]
    expected = edition(root)
    for rel, text in expected.items():
        path = root / rel
        if not path.exists():
            failures.append(f"{rel}: not written (run `make i18n`)")
        elif path.read_text() != text:
            failures.append(
                f"{rel}: differs from what `make i18n` writes (edited by hand, or stale)"
            )
    if not failures:
        for rel, text in derived(root).items():
            path = root / rel
            if not path.exists() or path.read_text() != text:
                failures.append(f"{rel}: differs from what `make i18n` writes")
    stray = (
        {
            p.relative_to(root).as_posix()
            for p in (root / ZH_TREE).rglob("*")
            if p.is_file() and p.suffix in (".ipynb", ".md") and ".ipynb_checkpoints" not in p.parts
        }
        - set(expected)
        - set(counterparts(root).values())
        - {f"{ZH_TREE}/notebooks/errata.md"}
    )
    failures += [f"{rel}: no English source for this file" for rel in sorted(stray)]
    return failures


def todo(sources: list[str], root: Path = ROOT) -> int:
    count = 0
    for src in sources:
        st = status(src, root)
        for key, en, _ in st["missing"]:
            count += 1
            print(f"=== {translation_file(src)} · {key} · missing\n{en}\n")
        for key, en, entry in st["stale"]:
            count += 1
            diff = "".join(
                difflib.unified_diff(
                    entry.get("en", "").splitlines(True), en.splitlines(True), "was", "now"
                )
            )
            print(f"=== {translation_file(src)} · {key} · stale: the English changed\n{diff}\n")
        for key, why in st["bad"]:
            count += 1
            print(f"=== {translation_file(src)} · {key} · {why}\n")
        for key in st["orphan"]:
            count += 1
            print(f"=== {translation_file(src)} · {key} · orphan (no such cell or section)\n")
    print(f"{count} to do in {len(sources)} source(s)")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command", nargs="?", default="write", choices=("write", "todo", "skeleton", "set")
    )
    parser.add_argument("sources", nargs="*", help="English sources (default: all)")
    parser.add_argument("--check", action="store_true", help="fail if anything is missing or stale")
    args = parser.parse_args(argv)
    if args.command == "set":
        if len(args.sources) not in (2, 3):
            parser.error("set takes SRC KEY [FILE]")
        src, key = args.sources[:2]
        name = args.sources[2] if len(args.sources) == 3 else "-"
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
        found = set_translation(src, key, text)
        for problem in found:
            print(f"{src} · {key}: {problem}")
        print(
            f"{translation_file(src)}: {key} stored"
            + (" (fix the problems above)" if found else "")
        )
        return 1 if found else 0
    sources = args.sources or notebook_sources() + page_sources()
    if args.command == "todo":
        return 1 if todo(sources) else 0
    if args.command == "skeleton":
        for src in sources:
            added, orphans = skeleton(src)
            print(f"{translation_file(src)}: {added} new entries; dropped {orphans or 'none'}")
        return 0
    if args.check:
        failures = check()
        for line in failures:
            print(line)
        print(
            f"i18n: {len(failures)} problem(s)"
            if failures
            else "i18n: the Chinese edition is current"
        )
        return 1 if failures else 0
    write(edition())
    write(derived())
    print(f"i18n: wrote the Chinese edition under {ZH_TREE}/ and README.zh-CN.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
