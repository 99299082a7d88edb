"""Tables that print themselves: a notebook cell ends with ``fm.tables.table(...)``, no f-strings.

Every number in a notebook's prose is printed by a cell; a ``Table`` does the formatting once:
aligned plain text for ``print`` and consoles, HTML in Jupyter, and the values stay readable
(``tab["RK4"]``, ``tab.rows``) for the asserts that follow. Sections 6.1 to 6.5.

The column names, the title and text cells (a row's label) are shown in the chosen language (``fmlib.i18n.term``: a name
the catalogue knows is translated, any other is shown as written); ``tab[name]`` takes the name
as written in the code.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

from torch import Tensor

from .i18n import term

__all__ = ["Table", "table", "format_value"]


def format_value(value: object, fmt: str | None = None) -> str:
    """One cell: ``fmt`` (e.g. ``".2e"``, ``".1%"``) if given, else 4 significant digits for floats."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if fmt is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, fmt)
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.4g}"
    return str(value)


def _width(text: str) -> int:
    """Columns ``text`` takes in a monospaced console: two for a wide (CJK) character."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _rjust(text: str, width: int) -> str:
    return " " * (width - _width(text)) + text


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Table:
    """Named columns of equal length, shown as an aligned text table or HTML. Sections 6.1-6.5.

    ``formats`` maps a column name to a format spec; ``title`` is printed above. Columns of
    numbers are right-aligned, others left-aligned. ``tab[name]`` is a column (a list).
    """

    def __init__(
        self,
        columns: Mapping[str, Sequence[object]],
        formats: Mapping[str, str] | None = None,
        title: str | None = None,
    ):
        if not isinstance(columns, Mapping) or not columns:
            raise TypeError("columns must be a non-empty mapping name -> sequence of values")
        self.columns = {str(k): list(v) for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) != 1:
            sizes = {k: len(v) for k, v in self.columns.items()}
            raise ValueError(f"the columns of a table must have equal lengths; got {sizes}")
        unknown = sorted(set(formats or {}) - set(self.columns))
        if unknown:
            raise ValueError(f"formats name columns {unknown} that the table does not have")
        self.formats, self.title = dict(formats or {}), title

    def __getitem__(self, name: str) -> list[object]:
        return self.columns[name]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    @property
    def rows(self) -> list[tuple[object, ...]]:
        return list(zip(*self.columns.values(), strict=True))

    def _cells(self) -> dict[str, list[str]]:
        return {
            k: [term(v) if isinstance(v, str) else format_value(v, self.formats.get(k)) for v in vs]
            for k, vs in self.columns.items()
        }

    def _numeric(self, name: str) -> bool:
        return all(
            isinstance(v, (int, float, Tensor)) and not isinstance(v, bool)
            for v in self.columns[name]
        )

    def __str__(self) -> str:
        cells = self._cells()
        head = {k: term(k) for k in cells}
        width = {k: max(_width(head[k]), *(_width(c) for c in cs)) for k, cs in cells.items()}
        align = {k: _rjust if self._numeric(k) else _ljust for k in cells}

        def line(items) -> str:
            return "  ".join(align[k](s, width[k]) for k, s in items).rstrip()

        out = [line((k, head[k]) for k in cells)]
        out += [line(zip(cells, row, strict=True)) for row in zip(*cells.values(), strict=True)]
        return "\n".join(([term(self.title)] if self.title else []) + out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        cells = self._cells()
        style = {k: "text-align:right" if self._numeric(k) else "text-align:left" for k in cells}
        head = "".join(f'<th style="{style[k]}">{html.escape(term(k))}</th>' for k in cells)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="{style[k]}">{html.escape(c)}</td>'
                for k, c in zip(cells, row, strict=True)
            )
            + "</tr>"
            for row in zip(*cells.values(), strict=True)
        )
        caption = f"<caption>{html.escape(term(self.title))}</caption>" if self.title else ""
        return f'<table class="fm-table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def table(
    columns: Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
    formats: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Table:
    """A ``Table`` from columns (``{"steps": [...], "RK4": [...]}``) or from rows (a list of dicts).

    Example: ``fm.tables.table({"steps": ns, "error": errs}, formats={"error": ".2e"})`` as the
    last line of a cell shows the table; ``print(...)`` of it prints the aligned text.
    """
    if isinstance(columns, Sequence) and not isinstance(columns, (str, bytes)):
        rows = list(columns)
        if not rows or not all(isinstance(r, Mapping) for r in rows):
            raise TypeError("rows must be a non-empty list of mappings column -> value")
        names = list(dict.fromkeys(k for r in rows for k in r))
        columns = {k: [r.get(k, "") for r in rows] for k in names}
    return Table(columns, formats, title)
