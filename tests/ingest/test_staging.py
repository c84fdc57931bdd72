"""Staging's occurrence numbers: exact within a bounded memory, and honest beyond it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from archiver.core.model import Attachment, Chat, Message, Sender
from archiver.core.tokens import index_columns
from archiver.ingest import staging
from archiver.ingest.staging import Batch, OccurrenceCounter, Stager, full_text_rows

DANA = Sender(key="dana", name="Dana")


def ok(ts: int) -> tuple[Message, int]:
    when = datetime.fromtimestamp(ts, UTC)
    return Message("chat", "text", DANA, when, when.isoformat(), "ok"), ts


def note(ts: int) -> tuple[Message, int]:
    when = datetime.fromtimestamp(ts, UTC)
    return Message("chat", "text", DANA, when, when.isoformat(), f"note {ts}"), ts


@pytest.fixture(autouse=True)
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging, "_OCCURRENCE_WINDOW", 3)


def test_repeats_are_numbered_and_a_file_in_time_order_stays_sure() -> None:
    counter = OccurrenceCounter()
    numbers, sure = [], []
    for m, ts in [ok(100), ok(100), *(note(t) for t in range(101, 120)), ok(120), ok(120)]:
        numbers.append(counter.next(m, ts))
        sure.append(counter.sure(ts))
    assert numbers == [0, 1] + [0] * 19 + [0, 1]
    assert all(sure)


def test_a_repeat_in_both_generations_is_still_counted() -> None:
    counter = OccurrenceCounter()
    assert [counter.next(*ok(100)), counter.next(*note(101)), counter.next(*note(102))] == [0, 0, 0]
    counter.next(*note(103))  # the young generation fills: the first three become old
    assert counter.next(*ok(100)) == 1
    assert counter.sure(100)


def test_a_line_from_a_forgotten_second_is_not_sure() -> None:
    counter = OccurrenceCounter()
    for m, ts in [ok(100), *(note(t) for t in range(101, 108))]:
        counter.next(m, ts)
    assert counter.next(*ok(100)) == 0  # forgotten: the writer renumbers it
    assert not counter.sure(100)
    assert counter.sure(108) and not counter.sure(None)


EXTRAS: list[Any] = [
    {"entities": [{"type": "plain", "text": "Trade "}, {"type": "link", "text": "https://x"}]},
    {"z": 1, "a": [1.5, -0.0, 1e300, float("nan"), float("inf"), True, None]},
    {"poll": {"question": "Préférez-vous ?", "answers": [{"text": "是", "voters": 2**70}]}},
    {"when": date(2024, 3, 1), 'tab\tquote"': "line\nbreak \u2028 \x00"},
    "plain string",
]


@pytest.mark.parametrize("value", EXTRAS)
def test_extra_data_is_encoded_exactly_as_the_reference_encoder_does(value: Any) -> None:
    assert staging.encode_extra(value) == staging._EXTRA_JSON.encode(value)


def test_full_text_rows_are_the_index_columns_of_every_message() -> None:
    when = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    texts = ["Price is 101.5", "Straße Müller", "見積もりを送ります", "see file", ""]
    photo = (Attachment(name="Term Sheet.PDF", path="files/ts.pdf"),)
    records = [
        Chat(platform="whatsapp", key="chat", title="Desk"),
        *(
            Message("chat", "text", DANA, when, "t", text, attachments=photo if i == 3 else ())
            for i, text in enumerate(texts)
        ),
    ]
    (batch,) = [b for b in Stager("whatsapp", "x").batches(records, 10) if isinstance(b, Batch)]
    assert sorted(batch.fts) == [1, 2, 3]  # ASCII text without files crosses once
    names = ["", "", "", "Term Sheet.PDF", ""]
    assert full_text_rows(batch) == [
        [row[staging.ID], *index_columns(text, name)]
        for row, text, name in zip(batch.rows, texts, names, strict=True)
    ]
