"""WhatsApp in every language it ships: each language file's strings, written into a
generated Android and iOS export, come out as the right kinds, senders, texts and title;
the files themselves are checked (sources, coverage, no clashes); case and invisible-mark
variants of known placeholders are recognised; a language without a table is named as a
guess, with an exact count of the placeholders nobody recognised."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.core.model import Chat, Message, Notice, ParseFacts, Record
from archiver.parsers.base import ExportUnit
from archiver.parsers.whatsapp_locale import (
    LOCALES,
    MATCH_INVISIBLE,
    Locale,
    LocaleError,
    load_locales,
    placeholder_key,
)
from archiver.parsers.whatsapp_locale_io import Phrase
from tests.parsers.conftest import memory_unit, parse

Parse = Callable[..., list[Record]]
GROUP = "Deal Desk"
ACTOR = "Ben Okafor"
DROP = {ord(c): None for c in MATCH_INVISIBLE}
FILLS = {"name": ACTOR, "any": "", "q": '"', "phone": "+44 7700 900123", "n": "5"}


def fill(template: str) -> str:
    return re.sub(r"\{([a-z]+)\}", lambda m: FILLS[m.group(1)], template)


def title_file(loc: Locale, suffix: str) -> str:
    """A file name in the language's own title pattern (or a plain one without)."""
    patterns = [t.template for t in loc.titles if t.evidence] or ["{title}"]
    return patterns[0].replace("{title}", GROUP) + suffix


def android_forms(phrases: tuple[Phrase, ...]) -> list[Phrase]:
    return [p for p in phrases if p.text.startswith("<")]


def ios_forms(phrases: tuple[Phrase, ...]) -> list[Phrase]:
    return [p for p in phrases if not p.text.startswith("<")] or android_forms(phrases)


# --- the files ------------------------------------------------------------------------------


def test_thirty_and_more_languages_load_with_their_sources() -> None:
    assert len(LOCALES) >= 30
    assert LOCALES[0].code == "en"
    for loc in LOCALES:
        assert loc.sources and loc.coverage and loc.name, loc.code
        assert "media" in loc.coverage or "titles" in loc.coverage, loc.code


def test_every_event_template_compiles() -> None:
    for loc in LOCALES:
        for row in loc.events:
            re.compile(row.regex)
            assert row.kind == ("call" if row.event in ("call", "missed_call") else "system")


def test_table_strings_are_nfc_without_invisible_marks() -> None:
    for loc in LOCALES:
        for p in (*loc.media, *loc.deleted, *loc.edited, *loc.attached):
            assert p.text == unicodedata.normalize("NFC", p.text), (loc.code, p.text)
            assert not set(p.text) & set(MATCH_INVISIBLE), (loc.code, p.text)


def test_no_placeholder_means_two_media_types() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for loc in LOCALES:
        for p in loc.media:
            key = placeholder_key(p.text)
            if key in seen:
                assert seen[key][1] == p.value, (loc.code, p.text, seen[key])
            seen[key] = (loc.code, p.value)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"media": [{"text": "<x>", "media": "media"}]}, "every string needs a 'source'"),
        ({"media": [{"text": "<x>", "media": "media", "source": "nope"}]}, "not in [sources]"),
        ({"media": [{"text": "<x>", "media": "pictures", "source": "s"}]}, "is not one of"),
        ({"coverage": ["titles"]}, "'coverage' must list the sections present"),
        ({"sources": {"s": "a", "t": "b"}}, "named by no string"),
        ({"events": [{"event": "x", "templates": ["{who} left"], "source": "s"}]},
         "unknown piece {who}"),
        ({"media": [{"text": "<x>", "media": "media", "source": "s", "lang": "xx"}]},
         "unknown key(s) ['lang']"),
    ],
)  # fmt: skip
def test_a_malformed_file_is_refused_naming_the_file(change: dict[str, Any], error: str) -> None:
    doc: dict[str, Any] = {
        "code": "xx",
        "name": "Test",
        "coverage": ["media"],
        "sources": {"s": "a source"},
        "media": [{"text": "<x>", "media": "media", "source": "s"}],
    }
    doc.update(change)
    with pytest.raises(LocaleError, match=re.escape(error)) as exc:
        load_locales([("xx.toml", _toml(doc).encode())])
    assert "whatsapp_locales/xx.toml" in str(exc.value) or "xx.toml" in str(exc.value)


def _toml(doc: dict[str, Any]) -> str:
    import json

    lines = []
    tables = {k: v for k, v in doc.items() if isinstance(v, (dict, list)) and k != "coverage"}
    for key, value in doc.items():
        if key not in tables:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    for key, value in tables.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()]
        else:
            for entry in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


# --- every language, Android and iOS ----------------------------------------------------------

EXPECTED = dict[str, Any]


def _lines(loc: Locale, ios: bool) -> tuple[list[str], list[EXPECTED]]:
    """The export's message lines after the header, and what each must parse to."""
    lines: list[str] = []
    want: list[EXPECTED] = []
    lrm = "\u200e" if ios else ""

    def say(author: str | None, body: str, **expected: Any) -> None:
        lines.append(body if author is None else f"{author}: {body}")
        want.append(expected)

    say(ACTOR, "Morning, the term sheet is final", kind="text", sender=ACTOR,
        text="Morning, the term sheet is final")  # fmt: skip
    for p in ios_forms(loc.media) if ios else android_forms(loc.media):
        kind = "contact" if p.value == "contact" else "media"
        say(ACTOR, lrm + p.text, kind=kind, sender=ACTOR, text="", media=p.value)
    for p in loc.deleted:
        say(ACTOR, lrm + p.text, kind="deleted", sender=ACTOR, text="",
            extra={"placeholder": p.text})  # fmt: skip
    for p in loc.edited:
        say(ACTOR, f"Price confirmed at 101.25 {p.text}", kind="text", sender=ACTOR,
            text="Price confirmed at 101.25", edited=True)  # fmt: skip
    for row in loc.events:
        text = fill(row.templates[0])
        if row.kind == "call" and ios:
            say(ACTOR, lrm + text, kind="call", sender=ACTOR, text=text, event=row.event)
        elif ios:
            say(GROUP, lrm + text, kind=row.kind, sender=None, text=text, event=row.event)
        else:
            say(None, text, kind=row.kind, sender=None, text=text, event=row.event)
    return lines, want


def _export(loc: Locale, ios: bool) -> tuple[ExportUnit, list[EXPECTED]]:
    lines, want = _lines(loc, ios)
    if ios:
        stamped = [f"[14.03.24, 09:{i:02d}:00] {line}" for i, line in enumerate(lines)]
        data = ("\n".join(stamped) + "\n").encode()
        return memory_unit(title_file(loc, ".zip"), [("_chat.txt", data)]), want
    stamped = [f"14.03.24, 09:{i:02d} - {line}" for i, line in enumerate(lines)]
    name = title_file(loc, ".txt")
    return memory_unit(name, [(name, ("\n".join(stamped) + "\n").encode())]), want


def _got(m: Message) -> EXPECTED:
    got: EXPECTED = {
        "kind": m.kind,
        "sender": m.sender.name if m.sender else None,
        "text": m.text,
    }
    if m.attachments:
        got["media"] = m.attachments[0].name
    if m.edited:
        got["edited"] = True
    if m.extra and "event" in m.extra:
        got["event"] = m.extra["event"]
    if m.extra and "placeholder" in m.extra:
        got["extra"] = {"placeholder": m.extra["placeholder"]}
    return got


@pytest.mark.parametrize("ios", [False, True], ids=["android", "ios"])
@pytest.mark.parametrize("loc", LOCALES, ids=[loc.code for loc in LOCALES])
def test_every_language_file_reads_back_from_a_generated_export(loc: Locale, ios: bool) -> None:
    unit, want = _export(loc, ios)
    records = parse(unit, order="dmy")
    messages = [r for r in records if isinstance(r, Message)]
    assert [_got(m) for m in messages] == want
    chat = records[0]
    assert isinstance(chat, Chat) and chat.title == GROUP
    facts = records[-1]
    assert isinstance(facts, ParseFacts)
    assert facts.facts["unrecognised_placeholders"] == 0
    votes = facts.facts["language_votes"]
    if _distinct(loc):
        assert facts.facts["language"] == loc.code, votes
    else:
        assert votes[loc.code] == max(votes.values()), votes


def _distinct(loc: Locale) -> bool:
    """Whether some string of the language is in no other table (else a tie is fair)."""
    others = [o for o in LOCALES if o.code != loc.code]
    mine = {placeholder_key(p.text) for p in (*loc.media, *loc.deleted)}
    theirs = {placeholder_key(p.text) for o in others for p in (*o.media, *o.deleted)}
    titled = any(t.evidence for t in loc.titles)
    return titled or bool(loc.events) or bool(mine - theirs)


@pytest.mark.parametrize(
    ("loc", "marker", "half"),
    [(loc, m, h) for loc in LOCALES for m, h in loc.twelve_hour if not m.isascii()],
    ids=lambda v: v.code if isinstance(v, Locale) else str(v),
)
def test_twelve_hour_markers_of_every_language(
    loc: Locale, marker: str, half: str, wa_messages: Callable[..., list[Message]]
) -> None:
    (m,) = wa_messages(f"14/03/2024, 9:05 {marker} - {ACTOR}: ok\n", order="dmy")
    assert m.sent_at.hour == (9 if half == "am" else 21)
    assert m.text == "ok"


# --- matching tolerates case, marks and a final full stop --------------------------------

VARIANTS = [
    # (body, kind, media or placeholder): each a known string written another way
    ("<MEDIA OMITTED>", "media", "media"),
    ("<media Omitted>", "media", "media"),
    ("\u2068<Media omitted>\u2069", "media", "media"),
    ("<\u200eMedia\u00a0omitted>", "media", "media"),
    ("<MEDIEN AUSGESCHLOSSEN>", "media", "media"),
    ("<Medya dahil edilmedi>", "media", "media"),
    ("Image omitted", "media", "image"),
    ("IMAGE OMITTED", "media", "image"),
    ("\u200fImage omitted.", "media", "image"),
    ("Imagen Omitida", "media", "image"),
    ("this message was deleted", "deleted", "this message was deleted"),
    ("THIS MESSAGE WAS DELETED.", "deleted", "THIS MESSAGE WAS DELETED."),
    ("This message was deleted!", "deleted", "This message was deleted!"),
    ("diese Nachricht wurde gelöscht", "deleted", "diese Nachricht wurde gelöscht"),
    (unicodedata.normalize("NFD", "Diese Nachricht wurde gelöscht."), "deleted",
     unicodedata.normalize("NFD", "Diese Nachricht wurde gelöscht.")),
    ("Questo messaggio è stato eliminato", "deleted", "Questo messaggio è stato eliminato"),
    ("\u2066Este mensaje fue eliminado\u2069", "deleted", "Este mensaje fue eliminado"),
]  # fmt: skip


@pytest.mark.parametrize("ios", [False, True], ids=["android", "ios"])
@pytest.mark.parametrize(("body", "kind", "what"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_case_and_invisible_mark_variants_are_recognised(
    wa_messages: Callable[..., list[Message]], body: str, kind: str, what: str, ios: bool
) -> None:
    line = (
        f"[14.03.24, 09:00:00] {ACTOR}: {body}\n"
        if ios
        else f"14/03/2024, 09:00 - {ACTOR}: {body}\n"
    )
    (m,) = wa_messages(line)
    assert (m.kind, m.text) == (kind, "")
    assert m.sender is not None and m.sender.name == ACTOR
    if kind == "media":
        assert m.attachments[0].name == what
        assert m.attachments[0].note == body.translate(DROP).strip()
    else:
        assert m.extra == {"placeholder": what}


def test_case_variant_of_an_edited_marker_and_of_an_event(
    wa_messages: Callable[..., list[Message]],
) -> None:
    edited, event = wa_messages(
        f"14/03/2024, 09:00 - {ACTOR}: Price is 101 <THIS MESSAGE WAS EDITED>\n"
        "14/03/2024, 09:01 - \u2068ben okafor LEFT the group\u2069\n"
    )
    assert (edited.kind, edited.text, edited.edited) == ("text", "Price is 101", True)
    assert (event.kind, event.sender) == ("system", None)
    assert event.extra == {"event": "member_left"}


def test_a_text_that_merely_starts_like_a_placeholder_stays_text(
    wa_messages: Callable[..., list[Message]],
) -> None:
    bodies = ["Image omitted from the deck, sorry", "this message was deleted by mistake?",
              "Contacts: see the sheet", "Confirmed"]  # fmt: skip
    text = "".join(f"14/03/2024, 09:0{i} - {ACTOR}: {b}\n" for i, b in enumerate(bodies))
    assert [(m.kind, m.text) for m in wa_messages(text)] == [("text", b) for b in bodies]


# --- a language without a table ------------------------------------------------------------

UNKNOWN = [
    # Made-up lines in Georgian script, which no language table has: the test needs a
    # language WhatsApp's tables here do not know, not real WhatsApp strings.
    "14/03/2024, 09:00 - ჯგუფი შეიქმნა",
    f"14/03/2024, 09:01 - {ACTOR}: <მედია გამოტოვებულია>",
    f"14/03/2024, 09:02 - {ACTOR}: გამარჯობა",
    f"14/03/2024, 09:03 - {ACTOR}: <ფაილი>",
    f"14/03/2024, 09:04 - {ACTOR}: <https://example.com>",
    f"14/03/2024, 09:05 - {ACTOR}: <a> and <b>",
    f"14/03/2024, 09:06 - {ACTOR}: \u200e<მედია გამოტოვებულია>",
    f"14/03/2024, 09:07 - {ACTOR}: <მედია გამოტოვებულია>",
    "second line: a multi-line body is never a placeholder",
]


def test_unknown_language_is_named_as_a_guess_with_an_exact_count(wa_parse: Parse) -> None:
    records = wa_parse("\n".join(UNKNOWN) + "\n", name="ჩატი.txt")
    messages = [r for r in records if isinstance(r, Message)]
    assert [m.kind for m in messages] == ["system"] + ["text"] * 7
    facts = records[-1]
    assert isinstance(facts, ParseFacts)
    assert facts.facts["language"] is None
    assert facts.facts["language_guess"] == "Georgian script"
    assert facts.facts["unrecognised_placeholders"] == 3  # lines 2, 4 and 7
    (notice,) = [r for r in records if isinstance(r, Notice)]
    assert notice.code == "language-unknown"
    assert notice.message == (
        "ჩატი.txt: the phone's language is not in the WhatsApp language tables (guess: "
        "Georgian script): media placeholders, deleted messages and system events written "
        "in it are archived as text messages or unlabelled system lines; 3 message(s) have "
        "the shape of a WhatsApp placeholder no table knows ('<…>' on Android, '… omitted' "
        "on iOS) (the first on line 2) and are archived as text messages. Nothing is lost "
        "(their text is kept); add the language's table to have them labelled (see the "
        "formats documentation)."
    )


def test_ios_omitted_shaped_lines_are_counted(wa_parse: Parse) -> None:
    text = (
        f"[14.03.24, 09:00:00] {ACTOR}: \u200eimagem omitida\n"
        f"[14.03.24, 09:01:00] {ACTOR}: \u200eimagen omitida\n"
        f"[14.03.24, 09:02:00] {ACTOR}: \u200eáudio omitido\n"
        f"[14.03.24, 09:03:00] {ACTOR}: the slide was omitted\n"
        f"[14.03.24, 09:04:00] {ACTOR}: it is not in the deck, it was omitted on purpose\n"
    )
    records = wa_parse(text, name="WhatsApp Chat - Deal Desk.txt")
    kinds = [r.kind for r in records if isinstance(r, Message)]
    assert kinds == ["text", "media", "text", "text", "text"]
    facts = records[-1]
    assert isinstance(facts, ParseFacts)
    assert facts.facts["unrecognised_placeholders"] == 2  # imagem, áudio (not 4+ words)
    assert facts.facts["language"] == "es"
    codes = [r.code for r in records if isinstance(r, Notice)]
    assert codes == ["unrecognised-placeholders"]


def test_a_partial_table_says_what_it_lacks(wa_parse: Parse) -> None:
    records = wa_parse(f"14/03/2024, 09:00 - {ACTOR}: <Medya atlanmış>\n", name="x.txt")
    facts = records[-1]
    assert isinstance(facts, ParseFacts) and facts.facts["language"] == "tr"
    (notice,) = [r for r in records if isinstance(r, Notice)]
    assert notice.code == "language-partial"
    assert notice.message == (
        "x.txt: the phone's language is Turkish (tr), whose table has no deleted messages "
        "and system events (media only): such lines are archived as text messages (Android "
        "system lines as unlabelled system lines)."
    )


# --- titles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "language"),
    [
        ("Conversa do WhatsApp com Clínica Sorriso (1).txt", "Clínica Sorriso", "pt"),
        ("Chat WhatsApp con Ufficio Milano - Copy.txt", "Ufficio Milano", "it"),
        ("Чат WhatsApp с Отдел продаж (2).txt", "Отдел продаж", "ru"),
        ("whatsapp chat mit Projekt Nordlicht.txt", "Projekt Nordlicht", "de"),
        ("Discussion_WhatsApp_avec_Équipe.txt", "Équipe", "fr"),
        ("与交易台的WhatsApp聊天.txt", "交易台", "zh"),
        (unicodedata.normalize("NFD", "Chat de WhatsApp con Señora Núñez.txt"), "Señora Núñez",
         "es"),
    ],
)  # fmt: skip
def test_titles_from_every_covered_language(
    wa_parse: Parse, name: str, title: str, language: str
) -> None:
    records = wa_parse(f"14/03/2024, 09:00 - {ACTOR}: ok\n", name=name)
    chat = records[0]
    assert isinstance(chat, Chat) and chat.title == title
    facts = records[-1]
    assert isinstance(facts, ParseFacts) and facts.facts["language"] == language


def test_ios_zip_pattern_says_nothing_about_the_language(wa_parse: Parse) -> None:
    unit = memory_unit(
        "WhatsApp Chat - Deal Desk.zip",
        [("_chat.txt", f"[14.03.24, 09:00:00] {ACTOR}: \u200e<Medien ausgeschlossen>\n".encode())],
    )
    records = wa_parse(unit)
    facts = records[-1]
    assert isinstance(facts, ParseFacts)
    assert facts.facts["language"] == "de"
    assert facts.facts["language_votes"] == {"de": 1}


# --- property: every known placeholder, written another way, is still that placeholder --------

_PLACEHOLDERS = [(p.text, p.value) for loc in LOCALES for p in loc.media] + [
    (p.text, "deleted") for loc in LOCALES for p in loc.deleted
]
_MARKS = "\u200e\u200f\u202a\u202c\u2066\u2068\u2069\ufeff"


@settings(max_examples=300, deadline=None)
@given(
    entry=st.sampled_from(_PLACEHOLDERS),
    cases=st.lists(st.booleans(), min_size=80, max_size=80),
    marks=st.lists(st.tuples(st.integers(0, 80), st.sampled_from(_MARKS)), max_size=3),
    stop=st.sampled_from(["", ".", "。"]),
)
def test_any_case_and_marks_give_the_same_key(
    entry: tuple[str, str], cases: list[bool], marks: list[tuple[int, str]], stop: str
) -> None:
    text, _ = entry
    varied = "".join(c.upper() if up else c.lower() for c, up in zip(text, cases, strict=False))
    varied += text[len(cases) :]
    for at, mark in marks:
        varied = varied[:at] + mark + varied[at:]
    assert placeholder_key(varied + stop) == placeholder_key(text)


@settings(max_examples=150, deadline=None)
@given(
    entry=st.sampled_from(_PLACEHOLDERS),
    form=st.sampled_from([str.lower, str.upper, str.capitalize, str.title, lambda s: s]),
    lead=st.sampled_from(["", "\u200e", "\u2068"]),
    stop=st.sampled_from(["", "."]),
    ios=st.booleans(),
)
def test_placeholders_in_their_usual_cases_parse_as_their_kind(
    entry: tuple[str, str], form: Callable[[str], str], lead: str, stop: str, ios: bool
) -> None:
    """Written lower, upper, capitalised or title case, after a mark or not, with a final
    full stop or not: the parser reads the table's kind (bodies starting with `<` or a
    mark are compared in any case at all)."""
    text, value = entry
    body = lead + form(text) + stop
    head = "[14.03.24, 09:00:00]" if ios else "14/03/2024, 09:00 -"
    unit = memory_unit("x.txt", [("x.txt", f"{head} {ACTOR}: {body}\n".encode())])
    (m,) = [r for r in parse(unit) if isinstance(r, Message)]
    if value == "deleted":
        assert m.kind == "deleted", body
    else:
        assert m.kind == ("contact" if value == "contact" else "media"), body
        assert m.attachments[0].name == value


def test_an_export_with_nothing_written_by_whatsapp_has_no_language_and_no_warning(
    wa_parse: Parse,
) -> None:
    records = wa_parse(f"14/03/2024, 09:00 - {ACTOR}: ok\n", name="chat.txt")
    facts = records[-1]
    assert isinstance(facts, ParseFacts)
    assert (facts.facts["language"], facts.facts["language_guess"]) == (None, None)
    assert facts.facts["language_evidence"] == (
        "nothing WhatsApp wrote here (placeholders, markers, events) tells"
    )
    assert not [r for r in records if isinstance(r, Notice)]
