"""Parsing beside writing.

The parser and the stager (fingerprints, occurrence indexes, index columns) run in a
forked child process while the caller writes to the database, so the two cores work at
once without contending for the GIL. The child re-opens the export itself (it never
touches the parent's database connection or open files), and sends its output through a
pipe: each batch of staged messages as one ``marshal`` blob, other records pickled.
Nothing is written to disk; a receiving thread keeps at most ``AHEAD`` decoded batches
in memory, so a slow writer simply blocks the parser. Records arrive in exactly the
parser's order; an exception in the child is re-raised in the caller; a caller that
stops early stops the child.

The child never outlives the caller, even one killed with SIGKILL (which runs no clean-up
code): on Linux the kernel kills it with its parent (``PR_SET_PDEATHSIG``); everywhere,
a thread of the child waits on a pipe whose only writer is the caller and ends the child
when it reads end-of-file, which the kernel delivers as soon as the caller is gone.

Where ``fork`` is unavailable the same generator runs in a thread instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import marshal
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from archiver import parsers
from archiver.core.errors import ArchiverError
from archiver.core.model import Record
from archiver.ingest import containers
from archiver.ingest.staging import Batch, Stager
from archiver.parsers.base import ParseOptions

Item = Record | Batch
_DONE = object()


@dataclass(frozen=True)
class Job:
    """What to parse and how: the export, the parser, its options, the batch size."""

    origin: Path
    kind: containers.Kind
    parser_name: str
    options: ParseOptions
    batch: int


def parse_staged(job: Job) -> Generator[Item, None, None]:
    """Open the export, parse and stage it (what the child process runs)."""
    with containers.open_unit(job.origin, job.kind) as received:
        parser = parsers.get(job.parser_name)
        stager = Stager(parser.platform, received.unit.name)
        yield from stager.batches(parser.parse(received.unit, job.options), job.batch)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with(parent: int, lifeline: int) -> None:
    """End this (child) process as soon as ``parent`` is gone, wherever its parser is (a
    write to the gone parent would only fail at the next batch): the kernel's parent-death
    signal where there is one, and everywhere a thread that blocks reading ``lifeline``, a
    pipe whose write end only the parent holds; end-of-file means the parent closed it
    or died."""
    _kill_with_parent()
    if os.getppid() != parent:  # it died before the request above was made
        os._exit(1)

    def wait_for_eof() -> None:
        with contextlib.suppress(OSError):
            while os.read(lifeline, 1):
                pass
        os._exit(1)

    threading.Thread(target=wait_for_eof, name="archiver-lifeline", daemon=True).start()


def _kill_with_parent() -> None:
    """Linux: ask the kernel for SIGKILL when the parent dies (strictly: when the parent's
    thread that forked us ends, so ``start`` is called from the thread that reads the
    stream)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _child(
    conn: Connection, inherited: Connection, lifeline: tuple[int, int], parent: int, job: Job
) -> None:
    # Close the copies of the parent's ends that fork gave us: if the parent dies, our
    # next write fails (EPIPE) and the lifeline reads end-of-file.
    inherited.close()
    os.close(lifeline[1])
    _die_with(parent, lifeline[0])
    # Millions of short-lived objects and no cycles worth collecting: the cyclic GC
    # only slows the parser down (measured: a third of the child's time on Telegram).
    gc.disable()
    code = 0
    try:
        for item in parse_staged(job):
            if isinstance(item, Batch):
                conn.send_bytes(b"M" + marshal.dumps(tuple(item)))
            else:
                conn.send_bytes(b"R" + pickle.dumps(item))
        conn.send_bytes(b"D")
    except BrokenPipeError:
        code = 1  # the writer stopped listening
    except BaseException as exc:
        try:
            payload = pickle.dumps(exc)
        except Exception:
            payload = pickle.dumps(ArchiverError(f"{type(exc).__name__}: {exc}"))
        with contextlib.suppress(BrokenPipeError):
            conn.send_bytes(b"E" + payload)
        code = 1
    finally:
        conn.close()
        os._exit(code)  # no atexit handlers: the parent owns every other resource


class InBackground:
    """Runs ``items`` in a worker thread from the moment it is made, at most ``depth``
    items ahead of the consumer. Iterate it; ``close()`` stops the worker (also when it
    was never iterated)."""

    def __init__(self, items: Iterator[Item], depth: int = 4) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._worker = threading.Thread(
            target=self._work, args=(items,), name="archiver-parse", daemon=True
        )
        self._worker.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, items: Iterator[Item]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(exc)
            return
        self._put(_DONE)

    def __iter__(self) -> InBackground:
        return self

    def __next__(self) -> Item:
        if self._finished:
            raise StopIteration
        got = self._queue.get()
        if got is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(got, BaseException):
            self._finished = True
            raise got
        return got  # type: ignore[return-value]

    def close(self) -> None:
        self._stop.set()
        self._worker.join(timeout=5)


class InChild:
    """``parse_staged`` in a forked child process, started at once (so it parses while
    the caller hashes and stores the original). Iterate it; ``close()`` stops the child.

    A thread of the caller receives and decodes the child's batches up to ``AHEAD``
    batches ahead, also while the caller is inside SQLite (which releases the GIL): the
    pipe alone holds less than one batch, so without it each side would wait whenever
    the other had a slow batch (measured: 3.5 s of waiting in an 18 s ingest)."""

    def __init__(self, job: Job) -> None:
        ctx = multiprocessing.get_context("fork")
        self._receiver, sender = ctx.Pipe(duplex=False)
        _widen(sender)
        lifeline = os.pipe()  # never written: its end-of-file tells the child we are gone
        args = (sender, self._receiver, lifeline, os.getpid(), job)
        self._proc = ctx.Process(target=_child, args=args, daemon=True)
        self._proc.start()
        sender.close()
        os.close(lifeline[0])
        self._lifeline = lifeline[1]
        self._items = InBackground(_received(self._receiver, self._proc, job.origin), AHEAD)

    def __iter__(self) -> InBackground:
        return self._items

    def close(self) -> None:
        # The child first: the receiving thread may be waiting for the child's data.
        if self._proc.is_alive():
            self._proc.terminate()
        self._items.close()
        self._receiver.close()
        self._proc.join()
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1


AHEAD = 4
# What ingest iterates and then closes.
Stream = InChild | InBackground | Generator[Item, None, None]


def _widen(conn: Connection) -> None:
    """A 1 MiB pipe instead of 64 KiB (Linux; elsewhere the default stays): a batch
    crosses in a few writes, not dozens."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)


def start(job: Job) -> InChild | InBackground:
    """Start parsing and staging beside the caller: in a forked child process, or in a
    thread where fork is missing. Close what it returns when done (``closing``)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return InBackground(parse_staged(job))
    return InChild(job)


def _received(receiver: Connection, proc: BaseProcess, origin: Path) -> Iterator[Item]:
    make = Batch._make
    while True:
        try:
            data = receiver.recv_bytes()
        except EOFError:
            proc.join(5)
            raise ArchiverError(
                f"{origin.name}: the parser process ended unexpectedly (exit code "
                f"{proc.exitcode}); nothing from this export was kept"
            ) from None
        tag, body = data[:1], memoryview(data)[1:]
        if tag == b"M":
            yield make(marshal.loads(body))
        elif tag == b"R":
            yield pickle.loads(body)
        elif tag == b"E":
            raise pickle.loads(body)
        else:
            return
