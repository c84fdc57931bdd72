"""What WhatsApp writes into an "Export chat" file, per language, as data.

Every variant the parser knows is a row in one of these tables; the parser has no
language-specific branches. Sources are the peer catalogue in
``shared/formats/whatsapp.md`` (sections a and b). Rows marked ``# unverified`` are the
same phrase in a further language written by analogy, not seen in a peer fixture:
they only label events (a wrong guess costs an event label, never a message).
"""

from __future__ import annotations

from typing import Final, Literal

# --- characters -------------------------------------------------------------------------

INVISIBLE: Final = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
"""Directional marks and BOMs WhatsApp scatters through headers, names and markers."""

LRM: Final = "\u200e"
"""iOS writes it before system text, attachment markers and placeholders."""

CLOCK_SPACES: Final = " \u00a0\u202f\u2009"
"""Spaces seen between a time and its AM/PM marker (and inside ``p. m.``)."""

# --- header pieces ----------------------------------------------------------------------

AMPM: Final[dict[str, Literal["am", "pm"]]] = {
    # Latin spellings are matched by one pattern (a/p, optional dots and spaces, m) and
    # normalised by dropping dots and spaces; these keys are the normalised forms.
    "am": "am",
    "pm": "pm",
    # CJK markers, written after (zh) or before (ko) the time.
    "上午": "am",
    "下午": "pm",
    "午前": "am",
    "午後": "pm",
    "오전": "am",
    "오후": "pm",
    # German day periods on 12-hour phones (CLDR de).
    "morgens": "am",
    "vorm.": "am",
    "nachts": "am",
    "mittags": "pm",
    "nachm.": "pm",
    "abends": "pm",
}
CJK_AMPM: Final = ("上午", "下午", "午前", "午後", "오전", "오후")
WORD_AMPM: Final = ("morgens", "vorm.", "nachts", "mittags", "nachm.", "abends")

DATE_TIME_WORDS: Final = ("klo", "à")
"""Words between date and time: Finnish ``13.6.2018 klo 21.25``, French ``12/07/2017 à 22:35``."""

# --- file names -------------------------------------------------------------------------

TITLE_PATTERNS: Final = (
    # (regex over the file name without extension; group "t" is the chat title)
    r"WhatsApp[ _]Chat[ _]-[ _](?P<t>.+)",  # iOS zip: "WhatsApp Chat - Team.zip"
    r"WhatsApp[ _]Chat[ _]with[ _](?P<t>.+)",
    r"WhatsApp[ _]Chat[ _]mit[ _](?P<t>.+)",
    r"Chat[ _]de[ _]WhatsApp[ _]con[ _](?P<t>.+)",
    r"Chat[ _]WhatsApp[ _]con[ _](?P<t>.+)",
    r"Conversa[ _]do[ _]WhatsApp[ _]com[ _](?P<t>.+)",
    r"Conversa[ _]no[ _]WhatsApp[ _]com[ _](?P<t>.+)",
    r"Discussion[ _]WhatsApp[ _]avec[ _](?P<t>.+)",
    r"Чат[ _]WhatsApp[ _]с[ _](?P<t>.+)",
    r"与(?P<t>.+)的 ?WhatsApp ?聊天",
    r"與(?P<t>.+)的 ?WhatsApp ?對話",
)
IOS_CHAT_FILE: Final = "_chat.txt"

DOWNLOAD_SUFFIXES: Final = (
    # What browsers, download managers and file managers append to a file name that
    # exists already (regex over the name without extension, anchored at its end):
    r"\s?\(\d{1,3}\)",  # Chrome, Firefox, Android: "name (1)", "name(2)"
    r"\s-\s[Cc]opy(?:\s\(\d{1,3}\))?",  # Windows Explorer: "name - Copy (2)"
    r"\s[Cc]opy(?:\s\d{1,3})?",  # macOS Finder: "name copy", "name copy 2"
    # download managers: "name-1"; one digit after a letter, so that "Team 2024-10" and
    # "Q3-2024" keep their numbers (a group really named "Project-7" is shown as
    # "Project"; its identity is decided by evidence, not by title)
    r"(?<=[^\W\d_])-[1-9]",
)

# --- message bodies ---------------------------------------------------------------------

MediaType = str

OMITTED: Final[dict[str, MediaType]] = {
    # Android "without media" exports (angle brackets).
    "<Media omitted>": "media",
    "<media omitted>": "media",
    "<Video message omitted>": "video note",
    "<Video note omitted>": "video note",
    "<media weggelaat>": "media",  # af
    "<تم استبعاد الوسائط>": "media",  # ar
    "<Medien ausgeschlossen>": "media",  # de
    "<Medien weggelassen>": "media",
    "<Videonachricht weggelassen>": "video note",
    "<multimedia omitido>": "media",  # es
    "<Archivo omitido>": "file",
    "<médias omis>": "media",  # fr
    "<Fichier omis>": "file",
    "<media omessi>": "media",  # it
    "<Media omesso>": "media",
    "<メディアなし>": "media",  # ja
    "<미디어 파일 제외됨>": "media",  # ko
    "<media weggelaten>": "media",  # nl
    "<pominięto multimedia>": "media",  # pl
    "<Mídia omitida>": "media",  # pt
    "<ficheiro não revelado>": "file",
    "<без медиафайлов>": "media",  # ru
    "<Файл пропущен>": "file",
    "<medya dahil edilmedi>": "media",  # tr
    "<忽略多媒體檔>": "media",  # zh
    "<省略多媒体文件>": "media",
    "<省略影音内容>": "media",
    "<已省略多媒體檔案>": "media",
    # iOS "without media" (no brackets, often after an LRM).
    "image omitted": "image",
    "video omitted": "video",
    "audio omitted": "audio",
    "sticker omitted": "sticker",
    "GIF omitted": "gif",
    "document omitted": "document",
    "Contact card omitted": "contact",
    "video note omitted": "video note",
    "video message omitted": "video note",
    "Bild weggelassen": "image",
    "Audio weggelassen": "audio",
    "Video weggelassen": "video",
    "Videonachricht weggelassen": "video note",
    "GIF weggelassen": "gif",
    "Kontaktkarte weggelassen": "contact",
    "Sticker weggelassen": "sticker",
    "Bild ausgelassen": "image",
    "Audio ausgelassen": "audio",
    "Video ausgelassen": "video",
    "Sticker ausgelassen": "sticker",
    "Videonotiz weggelassen": "video note",
    "imagen omitida": "image",
    "video omitido": "video",
    "sticker omitido": "sticker",
    "audio omitido": "audio",  # unverified
    "GIF omitido": "gif",  # unverified
    "圖片已略去": "image",
    "影片已略去": "video",
    "音訊已略去": "audio",
    "貼圖已忽略": "sticker",
    "貼圖已略去": "sticker",
    # Legacy iOS (2014-15).
    "<image omitted>": "image",
    "<video omitted>": "video",
    "<audio omitted>": "audio",
}

DOCUMENT_OMITTED: Final = (
    # iOS "<name>.pdf • 3 pages document omitted" / "<name>.pdf document omitted".
    r"(?P<title>.+?)(?:\s*•\s*(?P<pages>\d+)\s+(?:pages?|Seiten?))?"
    r"\s+(?:document omitted|Dokument weggelassen|Dokument ausgelassen)"
)

ATTACHED_SUFFIXES: Final = (
    # Android "with media": "IMG-20210428-WA0001.jpg (file attached)".
    "(file attached)",
    "(Datei angehängt)",
    "(arquivo anexado)",
    "(archivo adjunto)",  # unverified
    "(fichier joint)",  # unverified
    "(file allegato)",  # unverified
)

ATTACHED_TAGS: Final = (
    # iOS "with media": "<attached: 00000001-PHOTO-....jpg>".
    "attached",
    "Anhang",
    "adjunto",
    "已附加",
    "附件",
)
ATTACHED_OLD_TAG: Final = "<attached>"
"""About 2015-2017 iOS: ``2015-08-04-PHOTO-00004762.jpg <attached>`` (LRM after ``<``)."""

DOCUMENT_TITLE: Final = r"(?P<title>.+?)\s*•\s*(?P<pages>\d+)\s+(?:pages?|Seiten?|páginas?)"
"""The text iOS puts before a document attachment: ``Offer.pdf • 14 pages``."""

DELETED: Final = (
    "This message was deleted",
    "You deleted this message",
    "Message deleted",
    "Diese Nachricht wurde gelöscht",
    "Du hast diese Nachricht gelöscht",
    "Este mensaje fue eliminado",
    "Eliminaste este mensaje",  # unverified
    "Se eliminó este mensaje",  # unverified
    "Esta mensagem foi apagada",  # unverified
    "Você apagou esta mensagem",  # unverified
    "Ce message a été supprimé",  # unverified
    "Vous avez supprimé ce message",  # unverified
    "这条消息已删除",
    "此訊息已刪除",
    "你已刪除此訊息",
)
"""Deleted-message placeholders; each also matches with a final full stop."""

EDITED: Final = (
    "<This message was edited>",
    "<Diese Nachricht wurde bearbeitet>",
    "<Se editó este mensaje.>",
    "<Mensagem editada>",  # unverified
    "<Ce message a été modifié>",  # unverified
)

POLL_MARKERS: Final = ("POLL:",)
POLL_OPTION: Final = r"OPTION:\s*(?P<text>.*?)\s*\((?P<votes>\d+)\s+votes?\)"

LOCATION_PREFIXES: Final = ("location: ", "Location: ", "Standort: ", "Ubicación: ")
LIVE_LOCATION: Final = (
    "live location shared",
    "Live location shared",
    "Live-Standort wird geteilt.",
    "Live-Standort wird geteilt",
)
MAPS_QUERY: Final = r"[?&]q=(?P<lat>-?\d{1,3}(?:\.\d+)?),\s*(?P<lon>-?\d{1,3}(?:\.\d+)?)"

# --- system events ----------------------------------------------------------------------
#
# Each row: (event, kind, group, strong, regex). The regex must match the whole text
# (after invisible marks are stripped). ``A`` stands for an actor (a name or "You").
#   group:  the event only happens in groups (evidence for Chat.type).
#   strong: boilerplate no person types; such text in an author slot is a system event
#           in any export style. Weak rows count only with iOS evidence (an LRM before
#           the text, or the author repeated as the actor: "~ AK: ~ AK created this group").

A = r".{1,120}?"
Q = "[\"“”„«»'‘’]"

SystemRow = tuple[str, Literal["system", "call"], bool, bool, str]

SYSTEM_EVENTS: Final[tuple[SystemRow, ...]] = (
    # English
    ("encryption", "system", False, True, r"Messages and calls are end-to-end encrypted\..*"),
    ("encryption", "system", True, True,
     r"Messages (?:you send )?to this group are now secured with end-to-end encryption\..*"),
    ("encryption", "system", False, True,
     r"Messages (?:you send )?to this chat(?: and calls)? are now secured with end-to-end "
     r"encryption\..*"),
    ("encryption", "system", False, True,
     r"Messages you send to yourself are end-to-end encrypted\..*"),
    ("group_created", "system", True, True, rf"{A} created (?:group {Q}.*{Q}|this group)"),
    ("member_joined", "system", True, True, rf"{A} joined using this group's invite link"),
    ("member_added", "system", True, False, rf"{A} added {A}"),
    ("member_added", "system", True, False, r"(?:You were|.{1,200} were) added"),
    ("member_removed", "system", True, False, rf"{A} removed {A}"),
    ("member_left", "system", True, False, rf"{A} left(?: the group)?"),
    ("subject_changed", "system", True, True,
     rf"{A} changed (?:the group name|the subject|this group's name)\b.*"),
    ("icon_changed", "system", True, True,
     rf"{A} (?:changed|deleted|removed) (?:this group's|the group) icon"),
    ("description_changed", "system", True, True,
     rf"{A} (?:changed|deleted) the group description\.?"),
    ("settings_changed", "system", True, True,
     rf"{A} changed (?:this group|the group)(?:'s settings)?\b.*"),
    ("admin_changed", "system", True, True, r"You're (?:now|no longer) an admin"),
    ("admin_approval", "system", True, True,
     rf"{A} turned (?:on|off) admin approval to join this group.*"),
    ("security_code_changed", "system", False, True,
     r"Your security code with .{1,120} changed\..*"),
    ("number_changed", "system", False, True,
     rf"{A} changed their phone number to a new number\..*"),
    ("number_changed", "system", False, True,
     r"\+?[\d ()\-‑]{4,30} changed to \+?[\d ()\-‑]{4,30}\.?"),
    ("disappearing_messages", "system", False, True,
     rf"{A} turned (?:on|off) disappearing messages\..*"),
    ("disappearing_messages", "system", False, True, rf"{A} updated the message timer\..*"),
    ("blocked", "system", False, True, r"You (?:blocked|unblocked) this contact\..*"),
    ("privacy_changed", "system", False, True, rf"{A} turned (?:on|off) advanced chat privacy\..*"),
    ("contact", "system", False, False, rf"{A} is a contact"),
    ("meta_ai", "system", False, True, r"Meta AI is an optional service from Meta.*"),
    ("meta_ai", "system", False, True,
     r"Only messages that mention .{0,20}AI .*can be read by Meta\..*"),
    ("missed_call", "call", False, True,
     r"Missed (?:group )?(?:voice|video) call(?:\. Tap to call back)?\.?"),
    ("call", "call", False, True,
     r"(?:Group )?(?:[Vv]oice|[Vv]ideo) call(?:\.\s(?:\d{1,4}\s?(?:sec|min|hr|hrs)|No "
     r"answer|Declined)\.?)?"),
    ("call", "call", True, True, rf"{A} started a (?:video )?call"),
    # German
    ("encryption", "system", False, True,
     r"Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt\..*"),
    ("encryption", "system", True, True,  # unverified
     r"Nachrichten an diese Gruppe sind jetzt mit Ende-zu-Ende-Verschlüsselung geschützt\..*"),
    ("group_created", "system", True, True,
     rf"(?:Du hast|{A} hat) (?:die Gruppe {Q}?.*{Q}?|diese Gruppe) erstellt\.?"),
    ("member_added", "system", True, False, rf"(?:Du hast|{A} hat) {A} hinzugefügt\.?"),
    ("member_added", "system", True, False, rf"{A} (?:wurden|wurdest) hinzugefügt\.?"),
    ("member_removed", "system", True, False, rf"(?:Du hast|{A} hat) {A} entfernt\.?"),
    ("member_left", "system", True, True, rf"(?:Du hast|{A} hat) die Gruppe verlassen\.?"),
    ("member_joined", "system", True, True,  # unverified
     rf"{A} (?:ist|bist) .*Einladungslink.* beigetreten\.?"),
    ("subject_changed", "system", True, True,
     rf"(?:Du hast|{A} hat) den Gruppennamen .*geändert\.?"),
    ("icon_changed", "system", True, True,
     rf"(?:Du hast|{A} hat) das Gruppenbild (?:geändert|gelöscht)\.?"),
    ("description_changed", "system", True, True,
     rf"(?:Du hast|{A} hat) die Gruppenbeschreibung (?:geändert|gelöscht)\.?"),
    ("admin_changed", "system", True, True, r"Du bist (?:jetzt ein\*e|kein\*e) Admin(?: mehr)?\.?"),
    ("admin_approval", "system", True, True,
     rf"{A} ha(?:t|st) die (?:Admin-)?Genehmigung.*aktiviert.*"),
    ("security_code_changed", "system", False, True,
     r"Dein Sicherheitscode für .{1,120} hat sich geändert\..*"),
    ("number_changed", "system", False, True, rf"{A} hat eine neue Telefonnummer\..*"),
    ("number_changed", "system", False, True,
     r"\+?[\d ()\-‑]{4,30} hat zu \+?[\d ()\-‑]{4,30} gewechselt\.?"),
    ("disappearing_messages", "system", False, True,
     rf"{A} ha(?:t|st) selbstlöschende Nachrichten (?:aktiviert|deaktiviert)\..*"),
    ("disappearing_messages", "system", False, True,
     rf"{A} ha(?:t|st) die Nachrichtendauer aktualisiert\..*"),
    ("blocked", "system", False, True, r"Du hast diesen Kontakt (?:blockiert|freigegeben)\..*"),
    ("privacy_changed", "system", False, True,
     rf"{A} hat den erweiterten Chat-Datenschutz (?:ein|aus)geschaltet\.?"),
    ("contact", "system", False, False, rf"{A} ist ein Kontakt\.?"),
    ("missed_call", "call", False, True,
     r"Verpasster (?:Gruppen)?(?:Sprach|Video)anruf(?:\. Zum Zurückrufen tippen)?\.?"),
    ("call", "call", False, True,
     r"(?:Gruppen)?(?:Sprach|Video)anruf(?:\.\s(?:\d{1,4}\s?(?:Sek|Min|Std)\.?|Keine "
     r"Antwort|Abgelehnt)\.?)?"),
    ("call", "call", True, True, rf"{A} hat einen (?:Video)?[Aa]nruf gestartet\.?"),
    # Portuguese
    ("encryption", "system", False, True,
     r"As mensagens e (?:as )?chamadas são protegidas com (?:a )?criptografia de ponta a ponta.*"),
    ("group_created", "system", True, True,  # unverified
     rf"{A} criou (?:o grupo {Q}.*{Q}|este grupo)"),
    ("member_added", "system", True, False, rf"{A} adicionou {A}"),  # unverified
    ("member_removed", "system", True, False, rf"{A} removeu {A}"),  # unverified
    ("member_left", "system", True, False, rf"{A} saiu\.?"),  # unverified
    ("member_joined", "system", True, True,  # unverified
     rf"{A} entrou usando o link de convite deste grupo"),
    ("subject_changed", "system", True, True,  # unverified
     rf"{A} (?:mudou|alterou) o nome (?:do|deste) grupo.*"),
    ("icon_changed", "system", True, True,  # unverified
     rf"{A} (?:mudou|alterou|apagou) a imagem (?:do|deste) grupo"),
    ("security_code_changed", "system", False, True,  # unverified
     r"Seu código de segurança com .{1,120} mudou\..*"),
    # Spanish
    ("encryption", "system", False, True,
     r"Los mensajes y las llamadas están cifrados de extremo a extremo\..*"),
    ("encryption", "system", False, True,
     r"Los mensajes y llamadas en este chat ahora están protegidos con cifrado de extremo a "
     r"extremo\..*"),
    ("group_created", "system", True, True,  # unverified
     rf"{A} creó (?:el grupo {Q}.*{Q}|este grupo)"),
    ("member_added", "system", True, False, rf"{A} añadió a {A}"),  # unverified
    ("member_removed", "system", True, False, rf"{A} eliminó a {A}"),  # unverified
    ("member_left", "system", True, False, rf"{A} salió del grupo\.?"),  # unverified
    ("member_joined", "system", True, True,  # unverified
     rf"{A} se unió (?:al grupo )?usando el enlace de invitación.*"),
    ("subject_changed", "system", True, True,  # unverified
     rf"{A} cambió (?:el asunto|el nombre del grupo).*"),
    ("icon_changed", "system", True, True,  # unverified
     rf"{A} cambió (?:el ícono|la imagen) de este grupo"),
    ("security_code_changed", "system", False, True,  # unverified
     r"Tu código de seguridad con .{1,120} cambió\..*"),
    # French
    ("encryption", "system", False, True,
     r"Les messages envoyés dans cette discussion et les appels sont désormais protégés avec le "
     r"chiffrement de bout en bout\..*"),
    ("encryption", "system", False, True,  # unverified
     r"Les messages et les appels sont chiffrés de bout en bout\..*"),
    ("group_created", "system", True, True,  # unverified
     rf"{A} (?:a|avez) créé (?:le groupe {Q}.*{Q}|ce groupe)"),
    ("member_added", "system", True, False, rf"{A} (?:a|avez) ajouté {A}"),  # unverified
    ("member_removed", "system", True, False, rf"{A} (?:a|avez) retiré {A}"),  # unverified
    ("member_left", "system", True, False, rf"{A} est parti(?:e)?\.?"),  # unverified
    ("subject_changed", "system", True, True,  # unverified
     rf"{A} (?:a|avez) (?:modifié|changé) le (?:nom|sujet) du groupe.*"),
    ("security_code_changed", "system", False, True,  # unverified
     r"Votre code de sécurité avec .{1,120} a changé\..*"),
    # Chinese (zh-CN, zh-TW)
    ("encryption", "system", False, True,
     r"(?:消息和通话已进行端到端加密|你发送给自己的消息已进行端到端加密"
     r"|訊息與通話已受端對端加密保護).*"),
    ("group_created", "system", True, True, r".{0,120}(?:创建了此群组|建立了此群組).*"),
    ("member_joined", "system", True, False, r".{0,120}(?:加入群组|加入了群組).*"),
    ("member_added", "system", True, False, r".{0,120}(?:添加了|已新增).*"),
    ("member_left", "system", True, False, r".{0,120}(?:退出了群组|已離開群組).*"),
    ("member_removed", "system", True, False, r".{0,120}(?:移除了|已移除).*"),
    ("subject_changed", "system", True, True,
     r".{0,120}(?:更改了本群组|已变更本群组|已變更本群組|已将此群组的设置更改为).*"),
    ("disappearing_messages", "system", False, True, r".{0,120}(?:限时消息功能|限時訊息).*"),
)  # fmt: skip

STRONG_STARTS: Final = (
    # Cheap prefilter: a text in an author slot starting like this is checked against the
    # strong SYSTEM_EVENTS rows even without other evidence (whatsapp.md a.1 #5, #5d).
    "Messages and calls are end-to-end",
    "Messages to this group",
    "Messages you send",
    "Your security code",
    "You created",
    "You joined using",
    "You changed",
    "You deleted this group",
    "You're now an admin",
    "You're no longer an admin",
    "You blocked this contact",
    "You unblocked this contact",
    "You turned",
    "You updated the message timer",
    "Missed voice call",
    "Missed video call",
    "Missed group",
    "Voice call",
    "Video call",
    "Meta AI is",
    "Only messages that mention",
    "Nachrichten und Anrufe sind",
    "Nachrichten an diese Gruppe",
    "Dein Sicherheitscode",
    "Du hast die Gruppe",
    "Du hast diese Gruppe",
    "Du hast den Gruppennamen",
    "Du hast das Gruppenbild",
    "Du hast die Gruppenbeschreibung",
    "Du hast diesen Kontakt",
    "Du hast selbstlöschende",
    "Du hast die Nachrichtendauer",
    "Du bist jetzt",
    "Du bist kein",
    "Verpasster",
    "Sprachanruf",
    "Videoanruf",
    "As mensagens e",
    "Seu código de segurança",
    "Los mensajes y",
    "Tu código de seguridad",
    "Les messages envoyés",
    "Les messages et les appels",
    "Votre code de sécurité",
    "消息和通话",
    "你发送给自己",
    "訊息與通話",
)

ACTOR_HINT: Final = (
    # Words that never end a display name but do appear in a system line that contains
    # ": " (``Alice changed this group: description``); a candidate author containing one
    # of these is checked against SYSTEM_EVENTS as a whole line.
    r"\b(?:changed|created|added|removed|joined|deleted|updated|turned|hat|hast|criou|"
    r"adicionou|mudou|alterou|creó|cambió|añadió|a créé|a modifié)\b"
)
