"""Write the chapter's errata page from the notebooks' notes on the text: `make errata`.

Every section notebook says so, politely, where a measurement disagrees with the chapter: a
markdown blockquote that opens with **A note on the text.** (or **Note on the text.**). This
tool collects every such note into one table, notebooks/errata.md (勘误表 · Notes on the text):
the chapter's section, its passage as the chapter writes it (the Chinese quotes inside the note),
the note itself, and the evidence (the notebook and the section of it where the measurement is).
The page is generated, so it cannot drift from the notebooks:

    python tools/errata.py           # write notebooks/errata.md
    python tools/errata.py --check   # exit 1 if the page is stale, or a note quotes no Chinese

A note must quote the chapter's words in Chinese ("…" or “…” around CJK text, or a Chinese term in
parentheses after its English): the page is for readers of the Chinese chapter, who look for the
passage they read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = Path("notebooks") / "errata.md"

# a blockquote or a paragraph that opens with the marker, which may name its subject after a colon
# (**A note on the text: "…".**)
NOTE_OPENING = re.compile(
    r"^(?:>\s*)?\*\*(?:(?:A\s+)?notes?\s+on\s+the\s+text(?:[.:][^*]*)?|关于正文的说明[^*]*)\*\*\.?",
    re.IGNORECASE,
)
SECTION = re.compile(r"\b(?:Section|§)\s*(6\.\d(?:\.\d)?)")
SECTION_ZH = re.compile(r"(6\.\d(?:\.\d)?)\s*节")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
HEADING_NUMBER = re.compile(r"^(6\.\d(?:\.\d)?)\b")
CJK = re.compile(r"[\u3400-\u9fff]")
# the chapter's words: in quotes, or a Chinese term in parentheses after its English, "(数值稳定性)"
QUOTED = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|「([^」\n]+)」|\(([^()\n]+)\)|（([^）\n]+)）")
# in Chinese prose parentheses hold Chinese as a matter of course: there only quotes are quotes
QUOTED_ZH = re.compile(r"“([^”\n]+)”|「([^」\n]+)」")


@dataclass(frozen=True)
class Note:
    notebook: str  # repository path, e.g. notebooks/6_2_optimal_transport.ipynb
    cell_id: str
    heading: str  # the notebook's heading above the note
    section: str  # the chapter's section the note is about, e.g. 6.2.3
    quotes: tuple[str, ...]  # the chapter's words, in Chinese
    text: str  # the note, one paragraph of markdown


def _blockquote_notes(source: str) -> list[str]:
    """The notes in one markdown cell: each blockquote, or paragraph, that opens with the note's
    marker (a blockquote goes on while its lines start with ">", a paragraph to a blank line)."""
    notes, current, quoted = [], None, False
    for line in source.splitlines():
        if NOTE_OPENING.match(line):
            current, quoted = [line], line.startswith(">")
            notes.append(current)
        elif current is not None and (line.startswith(">") if quoted else line.strip()):
            current.append(line)
        else:
            current = None
    return ["\n".join(lines) for lines in notes]


def _one_paragraph(blockquote: str) -> str:
    """The note as one line of markdown (table cells hold no line breaks)."""
    lines = [re.sub(r"^>\s?", "", line) for line in blockquote.splitlines()]
    text = " ".join(line.strip() for line in lines if line.strip())
    text = NOTE_OPENING.sub("", "> " + text).strip()
    return text.replace("|", "\\|")


def notes_in(path: Path, root: Path = ROOT) -> list[Note]:
    """Every note on the text in one notebook, in the order of its cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    heading, found = "", []
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        for line in source.splitlines():
            m = HEADING.match(line)
            if m and len(m.group(1)) >= 2:
                heading = m.group(2).strip()
        for blockquote in _blockquote_notes(source):
            numbers = SECTION.findall(blockquote) or SECTION_ZH.findall(blockquote)
            own = HEADING_NUMBER.match(heading)
            section = numbers[0] if numbers else (own.group(1) if own else "6")
            text = _one_paragraph(blockquote)  # quotes may span the blockquote's lines
            pattern = QUOTED_ZH if path.resolve().relative_to(root).parts[0] == "zh" else QUOTED
            quotes = tuple(
                q.strip('"“”「」 ')
                for groups in pattern.findall(text)
                for q in groups
                if q and CJK.search(q)
            )
            found.append(
                Note(
                    notebook=path.relative_to(root).as_posix(),
                    cell_id=cell.get("id", ""),
                    heading=heading,
                    section=section,
                    quotes=quotes,
                    text=text,
                )
            )
    return found


def all_notes(root: Path = ROOT) -> list[Note]:
    notes = []
    for path in sorted((root / "notebooks").glob("6_*.ipynb")):
        notes.extend(notes_in(path, root))
    return notes


def _section_key(section: str) -> tuple[int, ...]:
    return tuple(int(part) for part in section.split("."))


INTRO_ZH = (
    "笔记本中的测量结果与教材正文不一致时，笔记本会在相应位置以简短的“关于正文的说明”指出，"
    "并在其上方的单元中给出依据。本页按教材顺序汇集全部 {n} 条说明：每条引用教材的原文，"
    "给出说明本身，并注明测量所在的笔记本小节；打开该笔记本运行一遍，即可亲自查看依据。"
)


def page(notes: list[Note], lang: str = "en") -> str:
    """The errata page as markdown (``lang="zh"``: the Chinese notebooks' page)."""
    rows = sorted(notes, key=lambda n: (_section_key(n.section), n.notebook))
    if lang == "zh":
        out = [
            "# 勘误表 · Notes on the text",
            "",
            "<!-- 由 make i18n（tools/i18n.py 调用 tools/errata.py）根据中文版笔记本中的说明生成，"
            "请勿直接编辑。 -->",
            "",
            INTRO_ZH.format(n=len(rows)),
            "",
        ]
    else:
        out = []
    out = out or [
        "# 勘误表 · Notes on the text",
        "",
        "<!-- Generated by `make errata` (tools/errata.py) from the notebooks' notes on the text;"
        " do not edit. -->",
        "",
        "Where a measurement in the notebooks disagrees with the chapter, the notebook says so in a",
        "short *note on the text*, with the evidence in the cell above it. This page collects all",
        f"{len(rows)} of them, in the chapter's order. Each one quotes the chapter's passage in",
        "Chinese, gives the note, and names the notebook section where the measurement is; open",
        "that notebook and run it to see the evidence yourself.",
        "",
    ]
    section = None
    for note in rows:
        if note.section != section:  # one heading per section of the chapter, a note under it
            section = note.section
            out += [f"## {section}", ""]
        quotes = " / ".join(f"「{q}」" for q in note.quotes)
        link = Path(note.notebook).name
        out += [
            f"### {quotes}",
            "",
            note.text,
            "",
            f"{'依据' if lang == 'zh' else '依据 · Evidence'}: [{note.heading or link}]({link})",
            "",
        ]
    return "\n".join(out) + "\n"


def render_for(paths: list[Path], lang: str = "en", root: Path = ROOT) -> str:
    """The errata page of the given notebooks (tools/i18n.py: the Chinese notebooks)."""
    notes = [note for path in paths for note in notes_in(path, root)]
    return page(notes, lang=lang)


def problems(notes: list[Note]) -> list[str]:
    """Notes the page cannot serve: no Chinese quote of the chapter's passage."""
    return [
        f"{n.notebook} cell {n.cell_id}: the note on {n.section} quotes no Chinese words of the"
        " chapter (put the passage in quotes, as the chapter writes it)"
        for n in notes
        if not n.quotes
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (for tests)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    notes = all_notes(root)
    text = page(notes)
    target = root / PAGE
    bad = problems(notes)
    if args.check:
        for line in bad:
            print(line)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"stale: {PAGE} (run `make errata`)")
            return 1
        return 1 if bad else 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}: {len(notes)} notes")
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
