"""The timestamp prefix that starts every WhatsApp message line, and its per-file shape.

A *shape* records which variant of each header piece a file uses (brackets or not, date
separator, the words between date and time, seconds, AM/PM marker, the separator after
the time). ``GENERAL`` accepts every catalogued variant; it is only used to learn the
shape from the first headers of a file. The file is then read with a regex built for
its own shape, so a body line only starts a new message when it has the full header
shape of that file (``2016-04-29 10:30:00`` inside an Android body stays body text).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from archiver.parsers.whatsapp_locale import (
    CJK_AMPM,
    CLOCK_SPACES,
    DATE_TIME_WORDS,
    INVISIBLE,
    WORD_AMPM,
)

INV = f"[{INVISIBLE}]*"
_SP = f"[{CLOCK_SPACES}]"
_LATIN_AMPM = rf"[AaPp]\.?{_SP}?[Mm]\.?"
_AMPM_AFTER = "|".join([_LATIN_AMPM, *map(re.escape, CJK_AMPM), *map(re.escape, WORD_AMPM)])
_AMPM_BEFORE = "|".join(map(re.escape, CJK_AMPM))
_GENERAL_JOIN = rf"(?:,\ ?|\ )(?:(?:{'|'.join(map(re.escape, DATE_TIME_WORDS))})\ )?"

END_BRACKET = "]"
END_DASH = "-"
END_COLON = ":"
END_SPACE = " "
_NON_BRACKET_END = {
    END_DASH: r"\.?\ +-\ +",  # "12/07/2017, 22:35 - " and "13:34. - " (dot after minutes)
    END_COLON: r":\ +",  # legacy "02/09/14 8:25:04 pm: "
    END_SPACE: r"(?(dt)\ |(?!))",  # "13. 6. 2018. 21:25:15 " only after a dotted date
}
_END_ORDER = (END_DASH, END_COLON, END_SPACE)  # the bare space last: "16.11.23. 18:44 - Ana"
STYLE_BY_END = {END_BRACKET: "ios", END_DASH: "android", END_COLON: "legacy", END_SPACE: "plain"}

Flags = frozenset[bool]
_BOTH: Flags = frozenset((True, False))


@dataclass(frozen=True)
class Shape:
    """The header variants one file uses; ``None`` in a field means "any variant"."""

    brackets: Flags = _BOTH
    date_seps: frozenset[str] | None = None
    trailing_dot: Flags = _BOTH
    joins: frozenset[str] | None = None
    ampm_before: Flags = _BOTH
    time_seps: frozenset[str] | None = None
    seconds: Flags = _BOTH
    ampm_after: Flags = _BOTH
    ends: frozenset[str] = frozenset((END_BRACKET, END_DASH, END_COLON, END_SPACE))

    @property
    def style(self) -> str:
        styles = sorted({STYLE_BY_END[e] for e in self.ends})
        return styles[0] if len(styles) == 1 else "mixed:" + "+".join(styles)

    @property
    def twelve_hour(self) -> bool:
        return True in self.ampm_after or True in self.ampm_before

    @property
    def ios_like(self) -> bool:
        """Whether group events may sit in an author slot (every style but Android's)."""
        return bool(self.ends - {END_DASH})

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description, recorded in ParseFacts."""
        return {
            "brackets": sorted(self.brackets),
            "date_separators": sorted(self.date_seps or ()),
            "trailing_dot": sorted(self.trailing_dot),
            "date_time_joins": sorted(self.joins or ()),
            "ampm_before_time": sorted(self.ampm_before),
            "time_separators": sorted(self.time_seps or ()),
            "seconds": sorted(self.seconds),
            "ampm_after_time": sorted(self.ampm_after),
            "after_time": sorted(self.ends),
        }


GENERAL_SHAPE = Shape()


def _flag(flags: Flags, pattern: str) -> str:
    """A piece that is required, optional or absent depending on what the file showed."""
    if flags == _BOTH:
        return f"(?:{pattern})?"
    return pattern if True in flags else ""


def _alternatives(values: Iterable[str]) -> str:
    return "|".join(re.escape(v) for v in sorted(values, key=lambda v: (-len(v), v)))


def _repeated(name: str, values: frozenset[str] | None, general: str) -> tuple[str, str]:
    """(first use, second use) of a separator that must be the same twice in a header:
    a group and a backreference, or just the literal when the file uses one variant."""
    if values is not None and len(values) == 1:
        literal = re.escape(next(iter(values)))
        return literal, literal
    alternatives = general if values is None else _alternatives(values)
    return f"(?P<{name}>{alternatives})", f"(?P={name})"


def build_regex(shape: Shape) -> re.Pattern[str]:
    """The header regex for one shape. Groups: ts (the timestamp text) = date + join +
    clock; d1 d2 d3, hh mi ss, apb (marker before the time), apa (after); for the general
    shape also the pieces ``features`` reads (ob ds dt join tsep end)."""
    general = shape == GENERAL_SHAPE
    ds, ds_again = _repeated("ds", shape.date_seps, r"[./-]\ ?")
    ts, ts_again = _repeated("tsep", shape.time_seps, "[:.]")
    join = _GENERAL_JOIN if shape.joins is None else _alternatives(shape.joins)
    date = rf"(?P<d1>\d{{1,4}}){ds}(?P<d2>\d{{1,4}}){ds_again}(?P<d3>\d{{1,4}})" + _flag(
        shape.trailing_dot, r"(?P<dt>\.)"
    )
    time = (
        _flag(shape.ampm_before, rf"(?P<apb>{_AMPM_BEFORE})\ ?")
        + rf"(?P<hh>\d{{1,2}}){ts}(?P<mi>\d{{2}})"
        + _flag(shape.seconds, rf"{ts_again}(?P<ss>\d{{2}})")
        + _flag(shape.ampm_after, rf"{_SP}?(?P<apa>{_AMPM_AFTER})")
    )
    join = f"(?P<join>{join})" if general else f"(?:{join})"
    stamp = rf"(?P<ts>(?P<date>{date}){join}(?P<clock>{time}))"
    plain_ends = [_NON_BRACKET_END[e] for e in _END_ORDER if e in shape.ends]
    if END_SPACE in shape.ends and "(?P<dt>" not in date:
        plain_ends.remove(_NON_BRACKET_END[END_SPACE])
    plain = "|".join(plain_ends) or "(?!)"
    if shape.brackets == frozenset((True,)):
        lead, end = rf"(?P<ob>\[){INV}", rf"{INV}\]\ *"
    elif shape.brackets == frozenset((False,)):
        lead, end = "", f"(?:{plain})"
    else:
        lead, end = rf"(?:(?P<ob>\[){INV})?", rf"(?(ob){INV}\]\ *|(?:{plain}))"
    end = f"(?P<end>{end})" if general else f"(?:{end})"
    return re.compile(rf"{INV}{lead}{stamp}{end}(?=\S)")


GENERAL = build_regex(GENERAL_SHAPE)

Features = tuple[bool, str, bool, str, bool, str, bool, bool, str]


def features(m: re.Match[str]) -> Features:
    """Which variant of each piece one matched header line used."""
    bracket = m.group("ob") is not None
    if bracket:
        end = END_BRACKET
    else:
        text = m.group("end")
        end = END_DASH if "-" in text else END_COLON if ":" in text else END_SPACE
    return (
        bracket,
        m.group("ds"),
        m.group("dt") is not None,
        m.group("join"),
        m.group("apb") is not None,
        m.group("tsep"),
        m.group("ss") is not None,
        m.group("apa") is not None,
        end,
    )


MINOR_STYLE_MIN = 3
MINOR_STYLE_SHARE = 0.05


def shape_of(seen: Sequence[Features]) -> Shape:
    """The narrowest shape accepting the headers seen (the union of their variants).

    A real export uses one line style (what follows the time: ``]``, `` - ``, ``: ``), so
    the most common style is the file's; another style counts only if it recurs (at least
    3 times and 5% of the headers seen). A line pasted from another chat into a message
    must not widen the shape, or it would split that message.
    """
    styles = Counter(f[8] for f in seen)
    keep = {
        style
        for style, n in styles.items()
        if n == max(styles.values())
        or (n >= MINOR_STYLE_MIN and n >= MINOR_STYLE_SHARE * len(seen))
    }
    cols = list(zip(*(f for f in seen if f[8] in keep), strict=True))
    if not cols:
        return GENERAL_SHAPE
    return Shape(
        brackets=frozenset(cols[0]),
        date_seps=frozenset(cols[1]),
        trailing_dot=frozenset(cols[2]),
        joins=frozenset(cols[3]),
        ampm_before=frozenset(cols[4]),
        time_seps=frozenset(cols[5]),
        seconds=frozenset(cols[6]),
        ampm_after=frozenset(cols[7]),
        ends=frozenset(cols[8]),
    )


_AMPM_CLEAN = re.compile(f"[{CLOCK_SPACES}.]")


def ampm_key(marker: str) -> str:
    """``"p.\\u00a0m."`` -> ``"pm"``; CJK and German words are returned unchanged."""
    if marker[:1] in "AaPp":
        return _AMPM_CLEAN.sub("", marker).lower()
    return marker
