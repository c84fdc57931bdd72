"""What the Telegram JSON and HTML parsers share: identities, times, placeholders, prose.

The export variants are described in docs/formats.md. Everything here is pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from archiver.core.model import Attachment, Notice

PLATFORM: Final = "telegram"

# Chat types whose messages a full-account export limits to "only my messages" by
# default; left channels/supergroups are always limited.
GROUP_TYPES: Final = frozenset(
    {
        "private_group",
        "private_supergroup",
        "public_supergroup",
        "private_channel",
        "public_channel",
    }
)
CHANNEL_TYPES: Final = frozenset({"private_channel", "public_channel"})

# ---------------------------------------------------------------------------------------
# Identities: four shapes of from_id / actor_id
# ---------------------------------------------------------------------------------------

_PEER_STRING = re.compile(r"(user|channel|chat)(\d+)")
_SHIFT_USER: Final = 1 << 32
_SHIFT_CHAT: Final = 1 << 33
_SHIFT_END: Final = 1 << 34


def normalize_peer(raw: object, chat_id: int | None, chat_type: str | None) -> tuple[str, str]:
    """``(key, shape)`` for a ``from_id``/``actor_id`` value of any exporter era.

    Shapes: ``string`` (``"user123"``, v2.7.2+), ``shifted_int`` (``2^32|uid`` for users,
    ``2^33|id`` for chats *and* channels, v2.4.0-2.7.1), ``bare_int`` (a user id,
    v1.4.8-2.3), ``unrecognised`` (kept verbatim as the key). For ``2^33|id`` the exporter
    did not say chat or channel: it is ``chat<id>`` only when it is the export's own
    basic group (``private_group``), else ``channel<id>`` (a basic group never posts
    anywhere but in itself; channels and anonymous supergroup admins do).
    """
    if isinstance(raw, str):
        if _PEER_STRING.fullmatch(raw):
            return raw, "string"
        if not raw.isdigit():
            return raw, "unrecognised"
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        return str(raw), "unrecognised"
    if raw < _SHIFT_USER:
        return f"user{raw}", "bare_int"
    if raw < _SHIFT_CHAT:
        return f"user{raw - _SHIFT_USER}", "shifted_int"
    if raw < _SHIFT_END:
        bare = raw - _SHIFT_CHAT
        own_group = chat_type == "private_group" and chat_id in (bare, raw)
        return (f"chat{bare}" if own_group else f"channel{bare}"), "shifted_int"
    return str(raw), "unrecognised"


def unshift_chat_id(chat_id: int) -> int:
    """A dialog id written in the shifted era (2^32|uid, 2^33|id) as a bare id."""
    if _SHIFT_USER <= chat_id < _SHIFT_CHAT:
        return chat_id - _SHIFT_USER
    if _SHIFT_CHAT <= chat_id < _SHIFT_END:
        return chat_id - _SHIFT_CHAT
    return chat_id


def chat_key(chat_id: object, name: str | None, chat_type: str | None, fallback: str) -> str:
    """The stable key of a chat (see the module docs of the parsers for the choice).

    ``str(id)`` when the export gives an id; otherwise ``name:<name>``; ``saved`` for
    saved messages without a name; ``fallback`` (derived from the file) when nothing else.
    """
    if isinstance(chat_id, int) and not isinstance(chat_id, bool):
        return str(chat_id)
    if isinstance(chat_id, str) and chat_id:
        return chat_id
    if name:
        return "name:" + name
    if chat_type == "saved_messages":
        return "saved"
    return fallback


SAVED_MESSAGES = "Saved Messages"


def chat_title(name: str | None, chat_type: str | None) -> str | None:
    """The title a chat is shown under: its name; the one Telegram itself shows for the
    saved-messages chat, which the export leaves nameless."""
    if name:
        return name
    return SAVED_MESSAGES if chat_type == "saved_messages" else None


def name_key(name: str | None) -> str:
    """A sender key derived from a display name, when the export gives no id."""
    return "name:" + (name if name is not None else "Deleted Account")


# ---------------------------------------------------------------------------------------
# Missing-file placeholders (JSON and HTML)
# ---------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"\(?\s*(?:(?:file|photo|story|video|sticker)\s+)?"
    r"(not included|exceeds maximum size|unavailable)\b[^/]*\)?\s*",
    re.IGNORECASE,
)
PLACEHOLDER_REASONS: Final = {
    "not included": "not_included",
    "exceeds maximum size": "too_large",
    "unavailable": "unavailable",
}


def placeholder_reason(value: str) -> str | None:
    """``not_included``/``too_large``/``unavailable`` if ``value`` is a placeholder, not a path.

    Real paths always sit in a media folder (``photos/…``), placeholders never contain
    a slash, so a value with a slash is always a path.
    """
    if "/" in value:
        return None
    m = _PLACEHOLDER.fullmatch(value)
    return PLACEHOLDER_REASONS[m.group(1).lower()] if m else None


def attachment(
    value: object, name: object, mime: object, size: object, kind: str = "file"
) -> Attachment | None:
    """An Attachment for a media field holding a relative path or a placeholder.

    ``name`` is the exporter's ``file_name`` if any, else the path's last part, else
    ``kind`` (``photo``, ``voice``…) for a file that was not exported.
    """
    if not isinstance(value, str) or value == "":
        return None
    note = value if placeholder_reason(value) else None
    path = None if note else value
    if not isinstance(name, str) or not name:
        name = value.rsplit("/", 1)[-1] if path else kind
    return Attachment(
        name=name,
        path=path,
        mime=mime if isinstance(mime, str) else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        note=note,
    )


# ---------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------

EPOCH_PLACEHOLDER_LIMIT: Final = 86_400
"""Edit times at or before 1970-01-02 are the pre-2020 'never edited' placeholder."""


def from_unix(value: object) -> datetime | None:
    """An aware UTC datetime from ``date_unixtime`` (a string of seconds) or None."""
    try:
        seconds = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


class LocalClock:
    """Turns naive local wall times (in file order) into UTC.

    Nonexistent times (DST gap) are moved forward by the gap. Ambiguous times (the
    repeated hour) take ``fold=0`` unless that would put the message before the previous
    one of the same chat, i.e. the clock went backwards: then ``fold=1``. Offsets are
    cached per local hour, so most calls are a dict lookup.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._hours: dict[tuple[int, int, int, int], timedelta | None] = {}
        self.previous: datetime | None = None
        self.ambiguous = 0
        self.folded = 0
        self.gaps = 0

    def reset(self) -> None:
        """Forget the previous message (a new chat starts)."""
        self.previous = None

    def to_utc(
        self, y: int, mo: int, d: int, h: int, mi: int, s: int
    ) -> tuple[datetime, str | None]:
        """UTC time and a note (``dst-gap``, ``dst-ambiguous``, ``dst-ambiguous-fold1``)."""
        hour = (y, mo, d, h)
        try:
            offset = self._hours[hour]
        except KeyError:
            offset = self._hours[hour] = self._offset_for_hour(y, mo, d, h)
        note = None
        if offset is None:  # the hour has a transition: decide minute by minute
            local = datetime(y, mo, d, h, mi, s)
            first = local.replace(tzinfo=self.tz).utcoffset() or timedelta(0)
            second = local.replace(tzinfo=self.tz, fold=1).utcoffset() or timedelta(0)
            if first == second:
                offset = first
            elif first < second:
                offset, note = first, "dst-gap"
                self.gaps += 1
            else:
                self.ambiguous += 1
                offset, note = first, "dst-ambiguous"
                candidate = local - first
                if self.previous is not None and candidate.replace(tzinfo=UTC) < self.previous:
                    offset, note = second, "dst-ambiguous-fold1"
                    self.folded += 1
        result = (datetime(y, mo, d, h, mi, s) - offset).replace(tzinfo=UTC)
        self.previous = result
        return result, note

    def _offset_for_hour(self, y: int, mo: int, d: int, h: int) -> timedelta | None:
        start = datetime(y, mo, d, h)
        offsets = set()
        for minute in (0, 59):
            for fold in (0, 1):
                off = start.replace(minute=minute, tzinfo=self.tz, fold=fold).utcoffset()
                offsets.add(off)
        if len(offsets) == 1:
            return offsets.pop()
        return None


_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)")


def parse_local_iso(text: str, clock: LocalClock) -> tuple[datetime | None, str | None]:
    """A JSON ``date`` (local wall time, no offset) in UTC; ISO strings with an offset or
    ``Z`` (seen in hand-made files) are taken as absolute."""
    m = _ISO.match(text)
    if m is None:
        return None, None
    if len(text) > 19:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None, None
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC), "absolute"
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    try:
        return clock.to_utc(y, mo, d, h, mi, s)
    except ValueError:
        return None, None


# ---------------------------------------------------------------------------------------
# Service messages as prose (mirrors the HTML exporter's English)
# ---------------------------------------------------------------------------------------


def join_names(names: Iterable[object]) -> str:
    shown = [n if isinstance(n, str) and n else "Deleted Account" for n in names]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


_SERVICE_TEXT: Final[Mapping[str, str]] = {
    "create_group": "{actor} created group «{title}»{with_members}",
    "edit_group_title": "{actor} changed group title to «{title}»",
    "edit_group_photo": "{actor} changed group photo",
    "delete_group_photo": "{actor} removed group photo",
    "invite_members": "{actor} invited {members}",
    "remove_members": "{actor} removed {members}",
    "join_group_by_link": "{actor} joined group by link from {inviter}",
    "join_group_by_request": "{actor} joined group by request",
    "create_channel": "Channel «{title}» created",
    "migrate_to_supergroup": "{actor} converted this group to a supergroup",
    "migrate_from_group": "{actor} converted a basic group to this supergroup «{title}»",
    "pin_message": "{actor} pinned message {message_id}",
    "clear_history": "History cleared",
    "score_in_game": "{actor} scored {score} in game message {game_message_id}",
    "send_payment": "Payment of {amount} {currency} for invoice message {invoice_message_id}",
    "phone_call": "{actor} made a phone call{call_details}",
    "conference_call": "{actor} started a conference call{call_details}",
    "group_call": "{actor} started voice chat{duration_text}",
    "invite_to_group_call": "{actor} invited {members} to the voice chat",
    "group_call_scheduled": "{actor} scheduled a voice chat for {schedule_date}",
    "take_screenshot": "{actor} took a screenshot",
    "joined_telegram": "{actor} joined Telegram",
    "requested_phone_number": "{actor} requested your phone number",
    "set_messages_ttl": "{actor} set messages to auto-delete after {period} seconds",
    "edit_chat_theme": "{actor} changed chat theme to {emoticon}",
    "topic_created": "{actor} created topic «{title}»",
    "topic_edit": "{actor} changed topic title to «{new_title}»",
    "set_chat_wallpaper": "{actor} set a new background for this chat",
    "set_same_chat_wallpaper": "{actor} set the same background for this chat",
    "suggest_profile_photo": "{actor} suggests to use this photo",
    "boost_apply": "{actor} boosted the group {boosts} times",
}
CALL_ACTIONS: Final = frozenset({"phone_call", "group_call", "conference_call"})


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def describe_service(action: str | None, actor: str | None, fields: Mapping[str, Any]) -> str:
    """English text for a service action, built from the actor and the action fields."""
    who = actor if actor else "Deleted Account"
    if action is None:
        info = fields.get("information_text")
        return info if isinstance(info, str) else "Service message"
    template = _SERVICE_TEXT.get(action)
    if template is None:
        return f"{who}: {action.replace('_', ' ')}"
    values: _Blank = _Blank({k: v for k, v in fields.items() if v is not None})
    values["actor"] = who
    members = fields.get("members")
    if isinstance(members, list):
        values["members"] = join_names(members)
        values["with_members"] = " with members " + join_names(members) if members else ""
    else:
        values["with_members"] = ""
    if "inviter" in fields:
        values["inviter"] = join_names([fields.get("inviter")])
    duration = fields.get("duration_seconds", fields.get("duration"))
    values["duration_text"] = f" ({duration} seconds)" if duration else ""
    details = [f"{duration} seconds"] if duration else []
    if fields.get("discard_reason"):
        details.append(str(fields["discard_reason"]))
    values["call_details"] = f" ({', '.join(details)})" if details else ""
    return template.format_map(values)


# ---------------------------------------------------------------------------------------
# Completeness notices
# ---------------------------------------------------------------------------------------


def partial_notice(
    chat_key: str, title: str | None, section: str, count: int, listed: str | None = None
) -> Notice:
    """``probably-partial``: a left chat, or a group/channel of a full-account export whose
    messages are all the exporter's own (JSON), or that the HTML chat list describes as
    "N outgoing messages" (``listed``)."""
    shown = title or chat_key
    if listed is not None:
        why = (
            f"the export's chat list says {listed!r}: it was exported with 'only my "
            "messages' (the full-account export's default for groups and channels)"
        )
    elif section == "left_chats":
        why = (
            "it is a chat you have left; Telegram Desktop exports only your own messages "
            "from left channels and supergroups"
        )
    else:
        why = (
            f"all {count} exported messages are your own; Telegram Desktop's full-account "
            "export defaults to 'only my messages' for groups and channels. Export the chat "
            "itself ('Export chat history') to archive the whole conversation"
        )
    return Notice(
        code="probably-partial",
        message=f"Telegram chat {shown!r} is probably incomplete: {why}.",
        chat_key=chat_key,
    )


def unsupported_notice(chat_key: str, title: str | None, count: int) -> Notice:
    return Notice(
        code="unsupported-messages",
        message=(
            f"Telegram chat {(title or chat_key)!r}: {count} message(s) were exported as "
            "'unsupported' (no date, no content); they are kept as unparsed records. "
            "Re-export with a newer Telegram Desktop to recover them."
        ),
        chat_key=chat_key,
    )


def era_guess(shapes: Mapping[str, int], has_unixtime: bool, has_entities: bool) -> str:
    """A human description of the exporter version range, from feature presence."""
    if has_entities:
        return "tdesktop >= 4.1.2 (text_entities)"
    if has_unixtime:
        return "tdesktop 3.7.6 - 4.1.1 (date_unixtime, no text_entities)"
    if shapes.get("string"):
        return "tdesktop 2.7.2 - 3.7.5 (string from_id, no date_unixtime)"
    if shapes.get("shifted_int"):
        return "tdesktop 2.4.0 - 2.7.1 (shifted integer from_id)"
    if shapes.get("bare_int"):
        return "tdesktop 1.4.8 - 2.3.x (bare integer from_id)"
    if shapes.get("absent"):
        return "tdesktop 1.3.8 - 1.4.7 (no from_id)"
    return "unknown"


def sorted_pages(names: Sequence[str]) -> list[str]:
    """``messages.html``, ``messages2.html``, … in numeric order (messages10 after 9)."""

    def number(path: str) -> int:
        m = re.search(r"messages(\d*)\.html$", path)
        return int(m.group(1) or 1) if m else 0

    return sorted(names, key=number)
