"""What goes into the full-text index for a message, and how CJK text is made findable.

FTS5's ``unicode61`` tokenizer keeps a run of Chinese, Japanese or Korean characters as
one token, so a word inside such a run could never be found. Runs of these scripts are
therefore taken out of the ``body`` column and indexed in the ``cjk`` column as
overlapping bigrams: any run of two or more characters is then a phrase of bigrams.
"""

from __future__ import annotations

import re

_CJK_CLASS = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended-A
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B-H
)
CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")


def bigrams(run: str) -> list[str]:
    """Overlapping character pairs of a CJK run (a single character stays itself)."""
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def indexed_as_written(text: str, file_names: str = "") -> bool:
    """Whether ``index_columns`` gives ``(text, "", "")``: ASCII text, no file names."""
    return not file_names and text.isascii()


def index_columns(text: str, file_names: str = "") -> tuple[str, str, str]:
    """(body, files, cjk) as fed to the ``messages_fts`` index.

    Text is case-folded first (``straße`` is indexed as ``strasse``); the tokenizer then
    removes diacritics, so ``müller``, ``Müller`` and ``muller`` are one term. Queries go
    through the same folding (``search._text_expr``). ASCII text is passed as it is:
    there case folding is lowercasing, which the tokenizer does itself (the same terms,
    without a copy of every message)."""
    if file_names:
        file_names = file_names.casefold()
    if text.isascii():
        return text, file_names, ""
    text = text.casefold()
    if CJK_RUN.search(text) is None:
        return text, file_names, ""
    grams: list[str] = []
    for run in CJK_RUN.findall(text):
        grams.extend(bigrams(run))
    return CJK_RUN.sub(" ", text), file_names, " ".join(grams)
