"""The language of what fmlib prints and draws: English by default, Chinese on request.

``fm.configure(lang="zh")`` (the Chinese notebooks' opening cell) chooses Chinese. Every string a
student sees in code output (explorer labels and titles, table headers, the checks' verdicts and
hints, runtime messages) goes through :func:`t`, keyed by its English template::

    t("got {got}, expected {expected}", got=1.0, expected=2.0)

The English template is the key, so English needs no catalogue and a missing Chinese entry falls
back to English (a test lists every key used in fmlib and asserts that ``ZH`` has it).
"""

from __future__ import annotations

LANGUAGES = ("en", "zh")
_LANG = "en"

# English template -> Chinese template (same {placeholders}).
ZH: dict[str, str] = {}


def set_language(lang: str) -> None:
    """Choose the language of fmlib's output: ``"en"`` (default) or ``"zh"``."""
    global _LANG
    if not isinstance(lang, str):
        raise TypeError(f"lang must be a string, one of {LANGUAGES}; got {lang!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}; got {lang!r}")
    _LANG = lang


def language() -> str:
    """The language chosen by :func:`set_language` (``"en"`` unless told otherwise)."""
    return _LANG


def t(message: str, /, **fields) -> str:
    """``message`` in the chosen language, with ``fields`` filled in by ``str.format``."""
    template = ZH.get(message, message) if _LANG == "zh" else message
    return template.format(**fields) if fields else template
