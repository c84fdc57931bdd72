"""Message kinds, markers and senders, in the catalogued locales (the tables of
archiver/parsers/whatsapp_locales/), in Android and iOS framing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from archiver.core.model import Attachment, Message, ParseFacts, Record
from archiver.parsers.base import ExportUnit

Messages = Callable[..., list[Message]]
ANDROID = "14/03/2024, 09:00 - Ben Okafor: {}\n"
IOS = "[14.03.24, 09:00:00] Ben Okafor: {}\n"
AT = datetime(2024, 3, 14, 9, 0, tzinfo=UTC)


def one(messages: Messages, text: str | ExportUnit, **kw: str) -> Message:
    (message,) = messages(text, **kw)
    return message


# --- media, contacts, attachments --------------------------------------------------------

OMITTED = [
    # (body, frame, media type recorded as the attachment name, kind)
    ("<Media omitted>", ANDROID, "media", "media"),
    ("<media omitted>", ANDROID, "media", "media"),
    ("<Video note omitted>", ANDROID, "video note", "media"),
    ("<Medien ausgeschlossen>", ANDROID, "media", "media"),
    ("<Medien weggelassen>", ANDROID, "media", "media"),
    ("<multimedia omitido>", ANDROID, "media", "media"),
    ("<Archivo omitido>", ANDROID, "file", "media"),
    ("<médias omis>", ANDROID, "media", "media"),
    ("<media omessi>", ANDROID, "media", "media"),
    ("<Mídia omitida>", ANDROID, "media", "media"),
    ("<без медиафайлов>", ANDROID, "media", "media"),
    ("<メディアなし>", ANDROID, "media", "media"),
    ("<미디어 파일 제외됨>", ANDROID, "media", "media"),
    ("<省略多媒体文件>", ANDROID, "media", "media"),
    ("<تم استبعاد الوسائط>", ANDROID, "media", "media"),
    ("<media weggelaten>", ANDROID, "media", "media"),
    ("<pominięto multimedia>", ANDROID, "media", "media"),
    ("<medya dahil edilmedi>", ANDROID, "media", "media"),
    ("image omitted", IOS, "image", "media"),
    ("\u200eimage omitted", IOS, "image", "media"),
    ("\u200eimagen omitida", IOS, "image", "media"),
    ("\u200eBild weggelassen", IOS, "image", "media"),
    ("Sticker ausgelassen", IOS, "sticker", "media"),
    ("\u200e圖片已略去", IOS, "image", "media"),
    ("<image omitted>", IOS, "image", "media"),
    ("\u200eContact card omitted", IOS, "contact", "contact"),
    ("\u200eKontaktkarte weggelassen", IOS, "contact", "contact"),
]


@pytest.mark.parametrize(("body", "frame", "media", "kind"), OMITTED, ids=[o[0] for o in OMITTED])
def test_omitted_media_placeholders(
    wa_messages: Messages, body: str, frame: str, media: str, kind: str
) -> None:
    m = one(wa_messages, frame.format(body))
    assert m.kind == kind
    assert m.text == ""
    assert m.sender is not None and m.sender.name == "Ben Okafor"
    (attachment,) = m.attachments
    assert attachment == Attachment(media, None, note=body.lstrip("\u200e"))


ATTACHED = [
    # (body, frame, referenced file name, kind)
    ("IMG-20210428-WA0001.jpg (file attached)", ANDROID, "IMG-20210428-WA0001.jpg", "media"),
    ("\u200ePTT-20180129-WA0025.opus (Datei angehängt)", ANDROID, "PTT-20180129-WA0025.opus",
     "media"),
    ("\u200eIMG-20230922-WA0006.jpg (arquivo anexado)", ANDROID, "IMG-20230922-WA0006.jpg",
     "media"),
    ("\u200e4f2680f1db95a8454775cc2eefc95bfc.jpg (Datei angehängt)", ANDROID,
     "4f2680f1db95a8454775cc2eefc95bfc.jpg", "media"),
    ("Client.vcf (file attached)", ANDROID, "Client.vcf", "contact"),
    ("<attached: 00000001-PHOTO-2019-06-20-16-00-15.jpg>", IOS,
     "00000001-PHOTO-2019-06-20-16-00-15.jpg", "media"),
    ("\u200e\u200e<attached: \u200ePTT-20180129-WA0025.opus>", IOS, "PTT-20180129-WA0025.opus",
     "media"),
    ("\u200e<Anhang: PTT-20180129-WA0025.opus>", IOS, "PTT-20180129-WA0025.opus", "media"),
    ("<adjunto: 00000002-PHOTO-2018-03-25-11-27-47.jpg>", IOS,
     "00000002-PHOTO-2018-03-25-11-27-47.jpg", "media"),
    ("<已附加: 00000003-PHOTO-2024-01-02-15-06-00.jpg>", IOS,
     "00000003-PHOTO-2024-01-02-15-06-00.jpg", "media"),
    ("<附件: 00000004-AUDIO-2024-01-02-15-07-00.opus>", IOS,
     "00000004-AUDIO-2024-01-02-15-07-00.opus", "media"),
    ("< attached: 00000042-PHOTO-2020-06-07-15-13-20.jpg >", IOS,
     "00000042-PHOTO-2020-06-07-15-13-20.jpg", "media"),
    ("2015-08-04-PHOTO-00004762.jpg <\u200eattached>", IOS, "2015-08-04-PHOTO-00004762.jpg",
     "media"),
    ("\u200e<attached: 00000009-Anna Weber.vcf>", IOS, "00000009-Anna Weber.vcf", "contact"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "frame", "name", "kind"), ATTACHED, ids=[a[2] for a in ATTACHED])
def test_attachment_syntaxes(
    wa_messages: Messages, body: str, frame: str, name: str, kind: str
) -> None:
    m = one(wa_messages, frame.format(body))
    assert (m.kind, m.text) == (kind, "")
    # a lone .txt: the file is not in the export, so the path is the name as written
    assert m.attachments == (Attachment(name, name),)


def test_caption_on_the_next_line_becomes_the_text(wa_messages: Messages) -> None:
    text = ANDROID.format("\u200e4f2680f1db95a8454775cc2eefc95bfc.jpg (Datei angehängt)")
    m = one(wa_messages, text + "Dir auch frohe Ostern.\nUnd gute Geschäfte!\n")
    assert m.kind == "media"
    assert m.text == "Dir auch frohe Ostern.\nUnd gute Geschäfte!"
    assert [a.name for a in m.attachments] == ["4f2680f1db95a8454775cc2eefc95bfc.jpg"]


def test_text_after_the_attachment_marker_is_not_an_attachment(wa_messages: Messages) -> None:
    body = "\u200eIMG-20230922-WA0006.jpg (arquivo anexado) conforme anexo anterior"
    m = one(wa_messages, ANDROID.format(body))
    assert (m.kind, m.attachments, m.text) == ("text", (), body)


def test_ios_document_title_and_pages(wa_messages: Messages) -> None:
    m = one(wa_messages, IOS.format("V--- SEGA RS.pdf • 14 pages <attached: 00000002-RS.pdf>"))
    assert (m.kind, m.text) == ("media", "")
    assert m.attachments == (Attachment("00000002-RS.pdf", "00000002-RS.pdf"),)
    assert m.extra == {"document": {"title": "V--- SEGA RS.pdf", "pages": 14}}


def test_ios_document_omitted(wa_messages: Messages) -> None:
    m = one(wa_messages, IOS.format("\u200eQ3 Report.pdf • 3 pages document omitted"))
    assert m.kind == "media"
    assert m.attachments[0].name == "Q3 Report.pdf" and m.attachments[0].path is None
    assert m.extra == {"document": {"title": "Q3 Report.pdf", "pages": 3}}


def test_attachment_paths_resolve_to_the_stored_member(
    wa_unit: Callable[..., ExportUnit], wa_messages: Messages
) -> None:
    """The text names IMG-…jpg, the zip stores IMG-…jpg.png (chatvault's test zip)."""
    from tests.parsers.conftest import memory_unit

    chat = "22/09/2023 13:33 - Fulano: \u200eIMG-20230922-WA0006.jpg (arquivo anexado)\n"
    unit = memory_unit(
        "test_chat.zip",
        [
            ("Conversa do WhatsApp com Fulano.txt", chat.encode()),
            ("IMG-20230922-WA0006.jpg.png", b"\x89PNG..."),
        ],
    )
    m = one(wa_messages, unit)
    assert m.attachments == (
        Attachment("IMG-20230922-WA0006.jpg", "IMG-20230922-WA0006.jpg.png", size=7),
    )


def test_view_once_empty_body_is_media_with_a_note(wa_messages: Messages) -> None:
    text = "1/29/18, 23:59 - Carol:\n1/29/18, 23:59 - Luke: \n"
    carol, luke = wa_messages(text)
    for m, name in ((carol, "Carol"), (luke, "Luke")):
        assert m.kind == "media" and m.sender is not None and m.sender.name == name
        assert m.text == "" and m.extra == {"view_once": True}
        assert m.attachments[0].path is None and "view-once" in (m.attachments[0].note or "")


# --- deleted, edited ---------------------------------------------------------------------

DELETED = [
    ("This message was deleted", ANDROID),
    ("You deleted this message", ANDROID),
    ("This message was deleted.", IOS),
    ("\u200eYou deleted this message.", IOS),
    ("Diese Nachricht wurde gelöscht.", ANDROID),
    ("\u200eDu hast diese Nachricht gelöscht.", IOS),
    ("Este mensaje fue eliminado.", IOS),
    ("此訊息已刪除", IOS),
    ("这条消息已删除", ANDROID),
]


@pytest.mark.parametrize(("body", "frame"), DELETED, ids=[d[0] for d in DELETED])
def test_deleted_keeps_its_sender(wa_messages: Messages, body: str, frame: str) -> None:
    m = one(wa_messages, frame.format(body))
    assert m.kind == "deleted"
    assert m.sender is not None and m.sender.name == "Ben Okafor"
    assert m.text == ""
    assert m.extra == {"placeholder": body.lstrip("\u200e")}


@pytest.mark.parametrize(
    ("body", "frame"),
    [
        ("Price confirmed at 101.25 <This message was edited>", ANDROID),
        ("Price confirmed at 101.25 <This message was edited>", IOS),
        ("Price confirmed at 101.25 <Diese Nachricht wurde bearbeitet>", ANDROID),
        ("Price confirmed at 101.25 <Se editó este mensaje.>", IOS),
        ("Price confirmed at 101.25 \u200e<This message was edited>", IOS),
    ],
)
def test_edited_marker_sets_the_flag_and_leaves_the_text(
    wa_messages: Messages, body: str, frame: str
) -> None:
    m = one(wa_messages, frame.format(body))
    assert (m.kind, m.text, m.edited) == ("text", "Price confirmed at 101.25", True)


def test_edited_marker_on_a_multi_line_message(wa_messages: Messages) -> None:
    text = ANDROID.format("First line") + "second line <This message was edited>\n"
    m = one(wa_messages, text)
    assert (m.text, m.edited) == ("First line\nsecond line", True)


# --- polls, locations, calls ---------------------------------------------------------------


def test_poll(wa_messages: Messages) -> None:
    text = IOS.format("POLL:") + (
        "When can we sign?\nOPTION: Thursday 15 (2 votes)\nOPTION: Friday 16 (1 vote)\n"
        "OPTION: Not this week (0 votes)\n"
    )
    m = one(wa_messages, text)
    assert m.kind == "poll"
    assert m.text == "When can we sign?\nThursday 15\nFriday 16\nNot this week"
    assert m.extra == {
        "poll": {
            "question": "When can we sign?",
            "options": [
                {"text": "Thursday 15", "votes": 2},
                {"text": "Friday 16", "votes": 1},
                {"text": "Not this week", "votes": 0},
            ],
        }
    }


@pytest.mark.parametrize(
    ("body", "frame"),
    [
        ("location: https://maps.google.com/?q=50.9425526,6.9523387", ANDROID),
        ("Location: https://maps.google.com/?q=50.9425526,6.9523387", IOS),
        ("Standort: https://maps.google.com/?q=50.9425526,6.9523387", ANDROID),
        ("Ubicación: https://maps.google.com/?q=50.9425526,6.9523387", IOS),
    ],
)
def test_location_with_coordinates(wa_messages: Messages, body: str, frame: str) -> None:
    m = one(wa_messages, frame.format(body))
    assert m.kind == "location"
    assert m.text == "https://maps.google.com/?q=50.9425526,6.9523387"
    assert m.extra == {
        "location": {"url": m.text, "live": False, "lat": 50.9425526, "lon": 6.9523387}
    }


@pytest.mark.parametrize("body", ["live location shared", "Live-Standort wird geteilt."])
def test_live_location(wa_messages: Messages, body: str) -> None:
    m = one(wa_messages, ANDROID.format(body))
    assert (m.kind, m.text, m.extra) == ("location", "", {"location": {"live": True}})


@pytest.mark.parametrize(
    "body",
    [
        "\u200eMissed voice call",
        "\u200eMissed video call. Tap to call back",
        "\u200eVoice call. 5 min",
        "\u200eVideo call. No answer",
        "\u200eVerpasster Sprachanruf. Zum Zurückrufen tippen",
        "\u200eSprachanruf. 3 Min.",
        "Videoanruf. Keine Antwort",
    ],
)
def test_calls_keep_the_caller(wa_messages: Messages, body: str) -> None:
    m = one(wa_messages, IOS.format(body))
    assert m.kind == "call"
    assert m.sender is not None and m.sender.name == "Ben Okafor"
    assert m.text == body.lstrip("\u200e")


def test_typed_text_that_starts_like_a_call_stays_text(wa_messages: Messages) -> None:
    m = one(wa_messages, IOS.format("Video call. Let's do 5pm"))
    assert (m.kind, m.text) == ("text", "Video call. Let's do 5pm")


# --- system events ------------------------------------------------------------------------

SYSTEM = [
    # (line, event) -- authorless lines are system in every language; the table labels them
    ('14/03/2024, 09:00 - You created group "Deal Desk"', "group_created"),
    ("14/03/2024, 09:00 - Anna Weber created group “Deal Desk”", "group_created"),
    ("14/03/2024, 09:00 - You added Ben Okafor", "member_added"),
    ("14/03/2024, 09:00 - Anna Weber added you", "member_added"),
    ("14/03/2024, 09:00 - You were added", "member_added"),
    ("14/03/2024, 09:00 - Anna Weber removed Ben Okafor", "member_removed"),
    ("14/03/2024, 09:00 - Ben Okafor left", "member_left"),
    ("14/03/2024, 09:00 - Ben Okafor joined using this group's invite link", "member_joined"),
    ('14/03/2024, 09:00 - You changed the subject from "Desk" to "Desk: EMEA"', "subject_changed"),
    ("14/03/2024, 09:00 - You changed this group's icon", "icon_changed"),
    ("14/03/2024, 09:00 - Anna Weber changed the group description", "description_changed"),
    ("14/03/2024, 09:00 - Your security code with Ben Okafor changed. Tap to learn more.",
     "security_code_changed"),
    ("14/03/2024, 09:00 - You turned on disappearing messages. Tap to change.",
     "disappearing_messages"),
    ("14/03/2024, 09:00 - You blocked this contact. Tap to unblock.", "blocked"),
    ("14/03/2024, 09:00 - You're now an admin", "admin_changed"),
    ("14/03/2024, 09:00 - Ben Okafor changed their phone number to a new number. Tap to "
     "message or add the new number.", "number_changed"),
    ("14.03.24, 09:00 - Du hast die Gruppe „Deal Desk“ erstellt.", "group_created"),
    ("14.03.24, 09:00 - Du hast Ben Okafor hinzugefügt.", "member_added"),
    ("14.03.24, 09:00 - Ben Okafor hat die Gruppe verlassen.", "member_left"),
    ('14.03.24, 09:00 - Du hast den Gruppennamen von "A" zu "B" geändert.', "subject_changed"),
    ("14.03.24, 09:00 - Du hast das Gruppenbild geändert.", "icon_changed"),
    ("14.03.24, 09:00 - Dein Sicherheitscode für Ben Okafor hat sich geändert. Tippe, um "
     "mehr zu erfahren.", "security_code_changed"),
    ("14/03/2024 09:00 - As mensagens e as chamadas são protegidas com a criptografia de "
     "ponta a ponta e ficam somente entre você e os participantes desta conversa. Nem mesmo "
     "o WhatsApp pode ler ou ouvi-las. Toque para saber mais.", "encryption"),
    ("14/03/2024, 09:00 - Los mensajes y las llamadas están cifrados de extremo a extremo. "
     "Nadie fuera de este chat, ni siquiera WhatsApp, puede leerlos ni escucharlos.",
     "encryption"),
    ("2024/01/02 03:07 - Alice changed this group: description", "settings_changed"),
    ("[14.03.24, 09:00:00] Alice创建了此群组", "group_created"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "event"), SYSTEM, ids=[s[1] + str(i) for i, s in enumerate(SYSTEM)]
)
def test_system_events_have_no_sender(wa_messages: Messages, line: str, event: str) -> None:
    m = one(wa_messages, line + "\n")
    assert (m.kind, m.sender) == ("system", None)
    assert m.text == line.split(" - ", 1)[-1].split("] ", 1)[-1]
    assert m.extra is not None and m.extra["event"] == event


def test_unknown_authorless_line_is_still_system(wa_messages: Messages) -> None:
    m = one(wa_messages, "14/03/2024, 09:00 - Something WhatsApp said that we do not know\n")
    assert (m.kind, m.sender, m.extra) == ("system", None, None)
    assert m.text == "Something WhatsApp said that we do not know"


GROUP_NAME_AS_AUTHOR = [
    # iOS writes group events with the group (or the actor) in the author slot (§a.1 #5)
    ("[14.03.24, 09:00:00] Deal Desk: \u200eYou added Ben Okafor", "member_added"),
    ("[14.03.24, 09:00:00] Deal Desk: \u200eBen Okafor left", "member_left"),
    ("[14.03.24, 09:00:00] Deal Desk: \u200eDu hast Ben Okafor hinzugefügt.", "member_added"),
    ("[14.03.24, 09:00:00] ~ Ben: ~ Ben added Carla", "member_added"),
    ("[14.03.24, 09:00:00] Deal Desk: Messages and calls are end-to-end encrypted. Only people "
     "in this chat can read, listen to, or share them.", "encryption"),
    ("[14.03.24, 09:00:00] Deal Desk: You created group “Deal Desk”", "group_created"),
    ("[14.03.24, 09:00:00] Anna Weber: Anna Weber changed this group's icon", "icon_changed"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "event"), GROUP_NAME_AS_AUTHOR)
def test_ios_events_in_the_author_slot(wa_messages: Messages, line: str, event: str) -> None:
    m = one(wa_messages, line + "\n")
    assert (m.kind, m.sender) == ("system", None)
    assert m.extra is not None and m.extra["event"] == event
    assert m.extra["author_slot"] in ("Deal Desk", "Ben", "Anna Weber")
    assert not m.text.startswith("\u200e")


def test_unknown_event_text_under_the_group_name_with_lrm_is_system(
    wa_unit: Callable[..., ExportUnit], wa_parse: Callable[..., list[Record]]
) -> None:
    """A locale whose phrases are not in the table: iOS still marks the event with an LRM
    and puts the group's own name in the author slot."""
    unit = wa_unit(
        "[14/3/24, 9:00:00] Deal Desk: \u200eCreaste el grupo “Deal Desk”\n"
        "[14/3/24, 9:01:00] Ana: \u200eHola\n",
        name="WhatsApp Chat - Deal Desk.txt",
    )
    records = wa_parse(unit)
    event, hello = (r for r in records if isinstance(r, Message))
    assert (event.kind, event.sender) == ("system", None)
    assert event.text == "Creaste el grupo “Deal Desk”"
    assert event.extra == {"author_slot": "Deal Desk"}  # no catalogued event name
    assert (hello.kind, hello.text) == ("text", "\u200eHola")  # message text stays faithful
    facts = records[-1]
    assert isinstance(facts, ParseFacts) and facts.facts["group_evidence"] is True


@pytest.mark.parametrize(
    "line",
    [
        "[14.03.24, 09:00:00] Ben Okafor: You added the wrong file",
        "[14.03.24, 09:00:00] Ben Okafor: Alice left early today",
        "14/03/2024, 09:00 - Ben Okafor: Alice left",
        "14/03/2024, 09:00 - Ben Okafor: Ben Okafor changed the group name to “x”",
    ],
)
def test_user_text_that_reads_like_an_event_stays_a_user_message(
    wa_messages: Messages, line: str
) -> None:
    m = one(wa_messages, line + "\n")
    assert m.kind == "text"
    assert m.sender is not None and m.sender.name == "Ben Okafor"


# --- senders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("author", "name", "extra"),
    [
        ("~ Nev", "Nev", {"tilde": True}),
        ("~\u202fNev", "Nev", {"tilde": True}),
        ("John Doe ", "John Doe", None),
        ("\u202a+1 (777) 777\u20117777\u202c", "+1 (777) 777-7777", None),
        ("+44 7123 456789", "+44 7123 456789", None),
        ("🤓", "🤓", None),
        ("John-John Doe", "John-John Doe", None),
        ("ملتقي", "ملتقي", None),
    ],
)
def test_sender_names_are_cleaned(
    wa_messages: Messages, author: str, name: str, extra: dict[str, bool] | None
) -> None:
    m = one(wa_messages, f"[14.03.24, 09:00:00] {author}: That's awesome.\n")
    assert m.sender is not None
    assert (m.sender.key, m.sender.name) == (name, name)
    assert m.extra == extra
    assert m.text == "That's awesome."


def test_tilde_is_kept_in_extra_for_special_kinds(wa_messages: Messages) -> None:
    m = one(wa_messages, "[14.03.24, 09:00:00] ~ Nev: \u200eimage omitted\n")
    assert m.kind == "media" and m.extra == {"tilde": True}


def test_first_colon_space_splits_author_and_text(wa_messages: Messages) -> None:
    m = one(wa_messages, "14/03/2024, 09:00 - John-John Doe: Lorem ipsum : dolor: sit amet.\n")
    assert m.sender is not None and m.sender.name == "John-John Doe"
    assert m.text == "Lorem ipsum : dolor: sit amet."


def test_times_and_urls_in_authorless_lines_are_not_senders(wa_messages: Messages) -> None:
    text = (
        "14/03/2024, 09:00 - Missed voice call at 10:30\n"
        "14/03/2024, 09:01 - See https://example.com/terms\n"
    )
    first, second = wa_messages(text)
    assert (first.sender, second.sender) == (None, None)
    assert second.text == "See https://example.com/terms"


def test_plain_text_keeps_every_character(wa_messages: Messages) -> None:
    body = "\u200eNo idea, let's try\u00a0it out! \ufeff🙂  two  spaces"
    m = one(wa_messages, IOS.format(body))
    assert (m.kind, m.text, m.sent_at) == ("text", body, AT)
