"""Numbers in the prose that no cell prints: a scan of every markdown cell, and code-cell shape.

    python tools/scan_notebooks.py [--root DIR] [--executed DIR] [--list] NOTEBOOK ...

Each notebook is read from ``--root`` (its markdown and code) with the outputs of its executed copy
``DIR/<path>`` (``build/executed`` is where ``make test``'s nbval run writes them); without
``--executed`` the notebook is executed here (fresh kernel of this Python, cwd = its folder). Its
spec is ``tools/mutants/notebooks/<stem>.py`` (``tools/mutants/solutions/<stem>.py`` for a
solution). An exercise ``exercises/X.ipynb`` is generated from ``solutions/X.ipynb`` with the same
cell ids and prose (its written answers blank): its prose is checked against the *solution's*
outputs and spec, since every cell after a check uses fmlib's version of the student's function and
prints what the solution prints, while the exercise's own check cells only say "not implemented".
One line per problem; exit status 1 if any.

**Which numbers count.** Removed before looking: fenced and inline code, ``$…$``/``$$…$$``/
``\\(…\\)``/``\\[…\\]`` math, HTML comments and tags, link targets and bare URLs (a link's text
stays), and heading lines. Of what remains, a number is skipped when it is

* glued to a letter, ``_`` or a hyphen-letter on either side (``W2``, ``x_0``, ``2-D``, ``3rd``,
  ``float32``), part of a shape ``N×M``/``NxM`` (a setting, both numbers), or joined to another
  number by an ASCII hyphen (dates, identifiers; an en-dash range ``16–32`` is two numbers);
* a reference: anything with two dots (``6.2.3``) and ``6.N`` (the chapter's sections, exercises
  and equations: ``6.2``, ``Exercise 6.2``, ``(6.7)``) unless ``=``, ``≈``, ``~``, ``<``, ``>``,
  ``±`` or "about" comes just before it;
* an integer 0–9 (counting and indexing: "part (3)", "2 numbers", "t = 1"), unless it carries
  ``%`` or ``×`` or follows ``≈``/``~``/"about" (then it is a claim).

**Covered** is a number that (a) rounds to a number printed (stream text or ``text/plain``) by a
code cell in the same section — from a ``#`` or ``##`` heading to the next one; ``###`` does not
start a section — at the prose's precision (``0.15`` matches ``0.1487``; an integer matches an
equal integer or a decimal within 0.5; ``12%`` also matches ``0.12``; signs are ignored unless the
prose writes one); (b) a quote of a ``TRY_ITS`` entry whose ``prompt`` is this cell (the runner
``tools/mutate.py`` replays it); or (c) listed for this cell in the spec's ``SETTINGS``. Also
reported: Try-it quotes that do not occur in their prompt cell, SETTINGS numbers that no longer
occur in their cell (both for the spec's own notebook, not for the exercises generated from a
solution, whose written answers are blank), and, for ``notebooks/*.ipynb``, code cells over 25 non-blank lines and a
median over 12. ``--list`` prints every counted number with what covers it.
"""

from __future__ import annotations

import argparse
import copy
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutate  # noqa: E402 (the spec loader and the number rules are shared)

DEFAULT_ROOT = mutate.DEFAULT_ROOT
MAX_LINES, MAX_MEDIAN = 25, 12

TOKEN_RE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+−]?\d+)?")
PRINTED_RE = re.compile(r"[-−]?\d+(?:\.\d+)?(?:[eE][-+−]?\d+)?")
CLAIM_BEFORE = re.compile(r"(=|≈|~|<|>|±|≤|≥|\babout)\s*$")


@dataclass
class ProseNumber:
    text: str  # as written, with a trailing % or × if any
    cell_id: str
    heading: str
    section: int
    context: str
    covered_by: str = ""


@dataclass
class Report:
    problems: list = field(default_factory=list)
    covered: list = field(default_factory=list)


# ---------------------------------------------------------------- cleaning markdown


def _blank(match: re.Match) -> str:
    """A removed span: spaces, keeping newlines so that lines (headings) stay where they were."""
    return re.sub(r"[^\n]", " ", match.group(0))


def clean_markdown(source: str) -> str:
    text = source
    text = re.sub(r"(?ms)^\s*(```|~~~).*?^\s*\1[^\n]*$", _blank, text)  # fenced code
    text = re.sub(r"(?s)<!--.*?-->", _blank, text)
    text = re.sub(r"(?s)\$\$.+?\$\$", _blank, text)
    text = re.sub(r"(?s)\\\[.+?\\\]", _blank, text)
    text = re.sub(r"(?s)\\\(.+?\\\)", _blank, text)
    text = re.sub(r"(?<!\\)\$(?!\s)[^$\n]+?(?<![\s\\])\$", _blank, text)  # inline math
    text = re.sub(r"(`+)(?s:.+?)\1", _blank, text)  # inline code
    text = re.sub(
        r"!?\[([^\]]*)\]\([^)]*\)",
        lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))),
        text,
    )
    text = re.sub(r"(?m)^\s*\[[^\]]+\]:\s*\S+.*$", _blank, text)  # reference-style link targets
    text = re.sub(r"<https?://[^>]*>|https?://\S+|www\.\S+", _blank, text)
    text = re.sub(r"</?[A-Za-z][^>]*>", _blank, text)  # HTML tags
    return text


def prose_numbers(source: str):
    """(number as written, context, heading line or None) for each counted number of a cell,
    in order; a heading line yields (None, None, heading)."""
    text = clean_markdown(source)
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#"):
            level = len(stripped) - len(stripped.lstrip("#"))
            yield None, None, (level, stripped.lstrip("#").strip())
            continue
        for m in TOKEN_RE.finditer(line):
            number = _counted(line, m)
            if number is not None:
                lo, hi = max(0, m.start() - 40), min(len(line), m.end() + 40)
                context = re.sub(r"\s+", " ", line[lo:hi]).strip()
                yield number, ("…" if lo else "") + context + ("…" if hi < len(line) else ""), None


def _counted(line: str, m: re.Match) -> str | None:
    """The number as written (sign, %, × kept) if the rules count it, else None."""
    token, start, end = m.group(0), m.start(), m.end()
    before, after = line[:start], line[end:]
    prev = before[-1:] if before else ""
    if prev and (prev.isalnum() or prev in "_.\\/"):  # W2, x_0, 1.2.3 tail, paths
        return None
    if re.match(r"(\.\d|[A-Za-z_]|-[A-Za-z]|-\d|\d)", after) and not re.match(
        r"x(?![A-Za-z0-9])", after
    ):
        return None  # 6.2.3, 2D, 2-D, 2026-11-29, 3x3 (below)
    if re.match(r"\s*[×x]\s*\d", after) and re.match(r"[×x]\d", after):
        return None  # a shape N×M
    if (
        re.search(r"\d[×x]$", before)
        or re.search(r"\d-$", before)
        or re.search(r"[A-Za-z]-$", before)
    ):
        return None  # the second half of N×M or of a hyphenated identifier
    claim = bool(CLAIM_BEFORE.search(before))
    if re.fullmatch(r"6\.\d{1,2}", token) and not claim:
        return None  # a section, exercise or equation of the chapter
    sign = "−" if re.search(r"(^|[\s(=≈~,:])[-−]$", before) else ""
    suffix = ""
    tail = re.match(r"\s?(%)|(×)|(x)(?![A-Za-z0-9])", after)
    if tail:
        suffix = "%" if tail.group(1) else "×"
    if re.fullmatch(r"\d", token) and not suffix and not re.search(r"(≈|~|\babout)\s*$", before):
        return None  # counting and indexing
    return sign + token + suffix


def _quote(text: str):
    return mutate.parse_quote(text)


def same_number(a: str, b: str) -> bool:
    """Two numbers as written are the same claim: equal value at equal written precision."""
    try:
        qa, qb = _quote(a), _quote(b)
    except ValueError:
        return False
    return qa.value == qb.value and qa.half_width == qb.half_width


def printed_numbers(outputs) -> list[tuple[float, str]]:
    values = []
    for out in outputs or []:
        texts = []
        if out.get("output_type") == "stream":
            texts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            data = out.get("data", {}).get("text/plain", "")
            texts.append("".join(data) if isinstance(data, list) else data)
        for text in texts:
            text = "".join(text) if isinstance(text, list) else text
            for m in PRINTED_RE.finditer(text):
                raw = m.group(0).replace("−", "-")
                try:
                    values.append((float(raw), raw))
                except ValueError:
                    pass
    return values


def printed_covers(prose: str, printed: list[tuple[float, str]]) -> str | None:
    quote = _quote(prose)
    signed = prose.startswith(("-", "−"))
    if quote.half_width == 0 and not quote.percent:
        quote = mutate.Quote(quote.text, quote.value, 0.5, False)  # integers: a decimal within 0.5
        exact_only = {round(quote.value)}
    else:
        exact_only = None
    for value, raw in printed:
        candidates = [value] if signed else [value, abs(value)]
        for v in candidates:
            if exact_only is not None and re.fullmatch(r"-?\d+", raw):
                if v in exact_only:
                    return raw
                continue
            if quote.matches(v):
                return raw
    return None


# ---------------------------------------------------------------- notebooks and specs


def spec_path(rel: str, root: Path) -> Path | None:
    """tools/mutants/notebooks/<stem>.py for notebooks/<stem>.ipynb; tools/mutants/solutions/<stem>.py
    for solutions/<stem>.ipynb and for the exercise generated from it, exercises/<stem>.ipynb."""
    folder, _, name = rel.partition("/")
    if not name or "/" in name:
        return None
    kind = {"notebooks": "notebooks", "solutions": "solutions", "exercises": "solutions"}.get(
        folder
    )
    return root / "tools" / "mutants" / kind / (Path(name).stem + ".py") if kind else None


def spec_for(rel: str, root: Path, report: Report):
    path = spec_path(rel, root)
    if path is None or not path.exists():
        return None
    try:
        spec = mutate.load_spec(path, root)
    except mutate.SpecError as exc:
        report.problems.append(f"invalid spec: {exc}")
        return None
    expected = {rel, "solutions/" + rel.partition("/")[2]}
    if spec.notebook not in expected:
        report.problems.append(f"{spec.rel}: NOTEBOOK is {spec.notebook!r}, expected {rel!r}")
        return None
    return spec


def execute(path: Path, root: Path, timeout: int):
    import nbformat
    from nbclient import NotebookClient

    mutate.kernel_env(root)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=mutate._kernel_manager(),
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def scan(rel: str, nb, executed, spec, report: Report) -> None:
    """Add the problems of one notebook (source nb, executed copy) to the report."""
    outputs_by_id = {
        c.get("id"): c.get("outputs", []) for c in executed.cells if c.cell_type == "code"
    }
    code_ids = [c.get("id") for c in nb.cells if c.cell_type == "code"]
    if code_ids != [c.get("id") for c in executed.cells if c.cell_type == "code"]:
        report.problems.append(
            f"{rel}: the executed copy's code cells differ from the notebook's (stale copy?)"
        )
    settings = spec.settings if spec else {}
    try_its = spec.try_its if spec else []
    cell_ids = {c.get("id") for c in nb.cells}

    # sections: numbers and printed values
    section, heading = 0, "(before the first heading)"
    printed: dict[int, list] = {}
    numbers: list[ProseNumber] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            printed.setdefault(section, []).extend(
                printed_numbers(outputs_by_id.get(cell.get("id")))
            )
        elif cell.cell_type == "markdown":
            for number, context, head in prose_numbers(cell.source):
                if head is not None:
                    level, title = head
                    if level <= 2:
                        section, heading = section + 1, title
                    continue
                numbers.append(ProseNumber(number, cell.get("id"), heading, section, context))

    own = spec is not None and spec.notebook == rel  # not an exercise generated from it, whose
    # written-answer cells say "YOUR ANSWER HERE": stale entries are reported for the solution
    for cell_id, entries in settings.items() if own else ():
        for number in entries:
            if cell_id in cell_ids and not any(
                n.cell_id == cell_id and same_number(n.text, number) for n in numbers
            ):
                report.problems.append(
                    f'{rel} cell {cell_id}: SETTINGS number "{number}" does not occur in the cell (stale setting)'
                )
    cells = {c.get("id"): c for c in nb.cells}
    for t in try_its if own else ():
        for quote, _ in t["expect"]:
            prompt = cells.get(t["prompt"])
            if prompt is None or quote not in prompt.source:
                report.problems.append(
                    f'{rel} cell {t["prompt"]}: Try it {t["name"]!r} quotes "{quote}", which its prompt cell does not contain'
                )

    for n in numbers:
        quotes = [
            (q, t["name"]) for t in try_its if t["prompt"] == n.cell_id for q, _ in t["expect"]
        ]
        hit = next((f"Try it {name!r}" for q, name in quotes if same_number(q, n.text)), None)
        if hit is None:
            reason = next(
                (r for k, r in settings.get(n.cell_id, {}).items() if same_number(k, n.text)), None
            )
            hit = f"setting: {reason}" if reason else None
        if hit is None:
            raw = printed_covers(n.text, printed.get(n.section, []))
            hit = f"printed {raw!r}" if raw is not None else None
        if hit is None:
            report.problems.append(
                f'{rel} cell {n.cell_id} (§{n.heading}): "{n.text}" in "{n.context}"'
            )
        else:
            n.covered_by = hit
            report.covered.append(f'{rel} cell {n.cell_id} (§{n.heading}): "{n.text}" {hit}')

    if rel.startswith("notebooks/"):
        lengths = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            count = sum(1 for line in cell.source.splitlines() if line.strip())
            lengths.append(count)
            if count > MAX_LINES:
                report.problems.append(
                    f"{rel} cell {cell.get('id')}: {count} non-blank lines (at most {MAX_LINES})"
                )
        if lengths and statistics.median(lengths) > MAX_MEDIAN:
            report.problems.append(
                f"{rel}: median code cell {statistics.median(lengths):g} non-blank lines (at most {MAX_MEDIAN})"
            )


def outputs_of(rel: str) -> str:
    """Whose outputs a notebook's prose is checked against: its own; an exercise's, its solution's
    (the same prose and cells, but the solution's check cells ran and its answers are filled in;
    every other cell prints the same, since it uses fmlib's version of the student's function)."""
    folder, _, name = rel.partition("/")
    return f"solutions/{name}" if folder == "exercises" and "/" not in name else rel


def executed_copy(rel: str, root: Path, args, report: Report):
    """The executed copy of rel under --executed, or rel executed here; None (reported) if neither."""
    import nbformat

    if not args.executed:
        try:
            return execute(root / rel, root, args.timeout)
        except Exception as exc:  # noqa: BLE001
            report.problems.append(
                f"{rel}: execution failed: {type(exc).__name__}: {mutate._first_line(exc)}"
            )
            return None
    base = args.executed if args.executed.is_absolute() else Path.cwd() / args.executed
    path = base / rel
    if not path.exists() and not args.executed.is_absolute():
        path = root / args.executed / rel
    if not path.exists():
        report.problems.append(f"{rel}: no executed copy at {path} (did it pass its nbval run?)")
        return None
    return nbformat.read(path, as_version=4)


def main(argv: list[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="repository root (default: this tool's)"
    )
    parser.add_argument(
        "--executed", type=Path, help="folder of executed copies at repo-relative paths"
    )
    parser.add_argument("--list", action="store_true", help="also print every covered number")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell when executing")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    report = Report()
    executed_copies: dict[str, object] = {}
    for path in args.notebooks:
        path = path if path.is_absolute() or path.exists() else root / path
        path = path.resolve()
        rel = mutate._rel(path, root)
        nb = nbformat.read(path, as_version=4)
        source = outputs_of(rel)
        if source not in executed_copies:
            executed_copies[source] = executed_copy(source, root, args, report)
        executed = executed_copies[source]
        if executed is not None:
            scan(rel, copy.deepcopy(nb), executed, spec_for(rel, root, report), report)
    if args.list:
        for line in report.covered:
            print("covered:", line)
    for line in report.problems:
        print(line)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
