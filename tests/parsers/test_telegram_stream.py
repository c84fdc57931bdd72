"""Memory stays flat however big ``result.json`` is (a 1M-message export in a bounded memory)."""

from __future__ import annotations

import importlib.util
import tracemalloc
from pathlib import Path
from types import ModuleType

import pytest

from archiver.core.model import Message, ParseFacts
from archiver.parsers.telegram_json import TelegramJsonParser
from tests.parsers.telegram_helpers import REPO, file_unit, options


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_telegram", REPO / "bench" / "gen_telegram.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    gen = _generator()
    out = {}
    for n in (50_000, 200_000):
        path = tmp_path_factory.mktemp("tg") / f"result_{n}.json"
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            gen.write(fh, n)
        out[n] = path
    return out


def _peak(path: Path) -> tuple[int, int]:
    """(messages parsed, peak traced bytes) with every record dropped as it arrives."""
    count = 0
    tracemalloc.start()
    try:
        for record in TelegramJsonParser().parse(file_unit(path, "result.json"), options("UTC")):
            if isinstance(record, Message):
                count += 1
            elif isinstance(record, ParseFacts):
                assert record.facts["layout"] == {"split_arrays": 1, "event_arrays": 0}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(exports: dict[int, Path]) -> None:
    small_count, small_peak = _peak(exports[50_000])
    big_count, big_peak = _peak(exports[200_000])
    assert (small_count, big_count) == (50_000, 200_000)
    assert exports[200_000].stat().st_size > 50_000_000
    # four times the messages, the same working set (a few read buffers and one run of
    # decoded messages); a parser that kept messages would need hundreds of MB here
    assert big_peak < 8_000_000
    assert big_peak < small_peak * 1.5
