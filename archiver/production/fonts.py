"""The fonts transcripts are set in, and which of them draws each character.

The fonts come from the ``manimgx-fonts`` package on PyPI (a dependency: Noto Sans,
Noto Sans Symbols, Noto Emoji and Noto Sans for Arabic, Hebrew, Devanagari, Thai and
the other scripts Latin fonts lack, SIL Open Font License), so every machine sets a
transcript with the same glyphs and the same page breaks. Characters none of them has
(Chinese, Japanese, Korean, Syriac...) are looked up next in fonts the operating system
may have (Debian: ``fonts-noto-cjk``, ``fonts-noto-core``, ``fonts-dejavu-core``). A
character no font has is drawn as a visible ``[U+XXXX]`` and reported; never dropped.

Default-ignorable characters (zero-width joiners, variation selectors, directional
marks) have no glyph of their own and are not drawn.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

PACKAGE = "manimgx-fonts"
# First the text fonts, then symbols and emoji, then the scripts (order decides which
# font draws a character several of them have).
PACKAGED = (
    "NotoSans[wght].ttf",
    "NotoSansSymbols[wght].ttf",
    "NotoEmoji[wght].ttf",
    "NotoSansArabic[wght].ttf",
    "NotoSansHebrew[wght].ttf",
    "NotoSansDevanagari[wght].ttf",
    "NotoSansThai[wght].ttf",
    "NotoSansArmenian[wght].ttf",
    "NotoSansGeorgian[wght].ttf",
    "NotoSansBengali[wght].ttf",
    "NotoSansTamil[wght].ttf",
    "NotoSansTelugu[wght].ttf",
    "NotoSansKannada[wght].ttf",
    "NotoSansMalayalam[wght].ttf",
    "NotoSansGujarati[wght].ttf",
    "NotoSansGurmukhi[wght].ttf",
    "NotoSansOriya[wght].ttf",
    "NotoSansSinhala[wght].ttf",
    "NotoSansKhmer[wght].ttf",
    "NotoSansLao[wght].ttf",
    "NotoSansMyanmar[wght].ttf",
    "NotoSansEthiopic[wght].ttf",
)
SYSTEM = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansSyriac-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansThaana-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
_IGNORABLE_EXTRA = frozenset("\u034f\u115f\u1160\u3164\uffa0")


def ignorable(ch: str) -> bool:
    """Whether ``ch`` is drawn as nothing on its own (joiners, selectors, marks)."""
    code = ord(ch)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0xE0000 <= code <= 0xE007F:
        return True
    return unicodedata.category(ch) == "Cf" or ch in _IGNORABLE_EXTRA


def marker(ch: str) -> str:
    return f"[U+{ord(ch):04X}]"


@dataclass
class Face:
    """One font file: its name, path and what it draws."""

    name: str
    path: Path

    @cached_property
    def _font(self):  # type: ignore[no-untyped-def]
        from fontTools.ttLib import TTFont

        return TTFont(str(self.path), fontNumber=0, lazy=True)

    @cached_property
    def cmap(self) -> dict[int, str]:
        return dict(self._font.getBestCmap() or {})

    @cached_property
    def _advances(self) -> dict[str, tuple[int, int]]:
        return dict(self._font["hmtx"].metrics)

    @cached_property
    def units(self) -> int:
        return int(self._font["head"].unitsPerEm)

    def width(self, code: int) -> float:
        """Advance width of a character, in ems."""
        return self._advances[self.cmap[code]][0] / self.units

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def _packaged() -> list[Face]:
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return []
    found = {p.name: p for p in dist.files or [] if p.name.endswith(".ttf")}
    return [
        Face(name.split("[")[0], Path(str(dist.locate_file(found[name]))))
        for name in PACKAGED
        if name in found
    ]


@dataclass
class Fonts:
    """The chain of faces and, per character, which face draws it and how wide it is."""

    faces: list[Face]
    _found: dict[str, tuple[int, float] | None] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Fonts:
        faces = _packaged()
        faces += [Face(Path(p).stem, Path(p)) for p in SYSTEM if Path(p).exists()]
        return cls(faces)

    def find(self, ch: str) -> tuple[int, float] | None:
        """(index of the face that draws ``ch``, its width in ems), or None."""
        if ch in self._found:
            return self._found[ch]
        code = ord(ch)
        hit = None
        for i, face in enumerate(self.faces):
            if code in face.cmap:
                hit = (i, face.width(code))
                break
        self._found[ch] = hit
        return hit

    def runs(self, text: str) -> Iterator[tuple[int, str]]:
        """``text`` as (face index, characters) runs; what no face has becomes a marker in
        the first face, ignorable characters are left out (see ``prepare``)."""
        current, buf = -1, list[str]()
        for ch in text:
            hit = self.find(ch)
            face = 0 if hit is None else hit[0]
            if face != current and buf:
                yield current, "".join(buf)
                buf = []
            current = face
            buf.append(ch)
        if buf:
            yield current, "".join(buf)

    def prepare(self, text: str, missing: list[str]) -> str:
        """``text`` as drawn: ignorable characters out, a character no face has as a
        visible ``[U+XXXX]`` (and appended to ``missing``)."""
        out = []
        for ch in text:
            if ch == "\t":
                out.append("    ")
            elif ignorable(ch) or ch in "\r\n":
                continue
            elif self.find(ch) is None:
                missing.append(ch)
                out.append(marker(ch))
            else:
                out.append(ch)
        return "".join(out)

    def width(self, text: str) -> float:
        """Width of prepared text in ems."""
        total = 0.0
        for ch in text:
            hit = self.find(ch)
            total += 0.5 if hit is None else hit[1]
        return total

    def used(self) -> list[dict[str, str]]:
        """Name, file and SHA-256 of each face that drew something (for the manifest)."""
        indices = sorted({hit[0] for hit in self._found.values() if hit is not None} | {0})
        return [
            {
                "name": self.faces[i].name,
                "file": self.faces[i].path.name,
                "sha256": self.faces[i].sha256,
            }
            for i in indices
            if i < len(self.faces)
        ]
