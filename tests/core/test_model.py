"""The normalized model: Message's hand-written constructor matches its fields."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

import pytest

from archiver.core.model import Attachment, Message, Sender


def test_message_constructor_takes_exactly_the_fields_with_their_defaults() -> None:
    params = list(inspect.signature(Message.__init__).parameters.values())[1:]
    fields = dataclasses.fields(Message)
    assert [p.name for p in params] == [f.name for f in fields]
    assert [p.default for p in params] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields
    ]


def test_message_constructor_sets_every_field_and_the_result_is_frozen() -> None:
    values = {
        "chat_key": "c",
        "kind": "media",
        "sender": Sender("k", "Dana"),
        "sent_at": datetime(2024, 3, 1, 9, tzinfo=UTC),
        "sent_at_text": "01/03/2024, 09:00",
        "text": "see photo",
        "line": 7,
        "msg_id": "42",
        "edited": True,
        "edited_at": datetime(2024, 3, 1, 10, tzinfo=UTC),
        "attachments": (Attachment("a.jpg", "a.jpg"),),
        "reply_to": "41",
        "forwarded_from": "Sam",
        "extra": {"x": 1},
    }
    m = Message(**values)  # type: ignore[arg-type]
    assert {f.name: getattr(m, f.name) for f in dataclasses.fields(m)} == values
    assert m == Message(*values.values())  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.text = "changed"  # type: ignore[misc]
