"""Which language the exporting phone was set to, from what WhatsApp wrote in the export.

Evidence, each counted for every language whose table has the string: the file-name
pattern of the chat title (3), each end-to-end encryption notice (3), each other system
event (1), each media placeholder, deleted-message text and attachment marker (1). The
language with the most wins. With no evidence at all the language is unknown, and the
script of the texts WhatsApp wrote that no table knows (system lines, placeholder-shaped
bodies) is the guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archiver.parsers.whatsapp_locale import (
    ATTACHED_LANGUAGES,
    BY_CODE,
    PLACEHOLDER_LANGUAGES,
    placeholder_key,
    text_script,
)

TITLE_WEIGHT = 3
ENCRYPTION_WEIGHT = 3


@dataclass(frozen=True)
class Language:
    """The decision, with the evidence in words."""

    code: str | None
    evidence: str
    votes: dict[str, int] = field(default_factory=dict)
    guess: str | None = None  # when code is None: the script WhatsApp's texts are in

    @property
    def name(self) -> str | None:
        found = BY_CODE.get(self.code) if self.code else None
        return found.name if found is not None else None

    @property
    def coverage(self) -> tuple[str, ...]:
        found = BY_CODE.get(self.code) if self.code else None
        return found.coverage if found is not None else ()

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "language": self.code,
            "language_name": self.name,
            "language_evidence": self.evidence,
            "language_votes": dict(sorted(self.votes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "language_coverage": list(self.coverage),
        }
        if self.code is None:
            facts["language_guess"] = self.guess
        return facts


def decide(
    title_language: str | None,
    title_stem: str | None,
    seen: Mapping[str, int],
    events: Mapping[str, int],
    encryption: Mapping[str, int],
    samples: list[str],
) -> Language:
    """The language of one export (see the module docstring)."""
    votes: dict[str, int] = {}
    marks: dict[str, int] = {}

    def add(codes: frozenset[str] | tuple[str, ...], weight: int) -> None:
        for code in codes:
            votes[code] = votes.get(code, 0) + weight

    if title_language:
        add((title_language,), TITLE_WEIGHT)
    for text, n in seen.items():
        codes = PLACEHOLDER_LANGUAGES.get(placeholder_key(text)) or ATTACHED_LANGUAGES.get(
            text.casefold(), frozenset()
        )
        add(codes, n)
        for code in codes:
            marks[code] = marks.get(code, 0) + n
    for code, n in encryption.items():
        add((code,), ENCRYPTION_WEIGHT * n)
    for code, n in events.items():
        add((code,), n - encryption.get(code, 0))
    if not votes:
        return _unknown(samples)
    best = max(votes.values())
    winners = sorted(c for c, v in votes.items() if v == best)
    code = winners[0]
    parts = []
    if title_language == code and title_stem:
        parts.append(f"the file name ({title_stem!r})")
    if encryption.get(code):
        parts.append("the end-to-end encryption notice")
    other_events = events.get(code, 0) - encryption.get(code, 0)
    if other_events:
        parts.append(f"{other_events} system event(s)")
    if marks.get(code):
        parts.append(f"{marks[code]} placeholder(s) or attachment marker(s)")
    evidence = ", ".join(parts)
    if len(winners) > 1:
        evidence += f"; as much evidence for {', '.join(winners[1:])}"
    return Language(code, evidence, votes)


def _unknown(samples: list[str]) -> Language:
    script = text_script(" ".join(samples))
    if script is None:
        return Language(None, "nothing WhatsApp wrote here (placeholders, markers, events) tells")
    guess = f"{script.title()} script"
    return Language(
        None,
        f"no string of any language table; WhatsApp's own texts here are in {guess}",
        {},
        guess,
    )
