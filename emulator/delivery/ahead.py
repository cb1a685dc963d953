"""Rendering ahead, in a second process: the run's events made on one core while the other sends.

Playing and rendering cost about as much as putting an event on the wire, and Python runs one
thread's code at a time, so a long run renders in a child process forked from this one (the
registry, its compiled templates and Faker are already warm: nothing is loaded again) and reads
finished events from a pipe, a chunk at a time. The pipe's buffer (room for a few chunks) and the
reader's (a few more) are the only queue: a child that is far ahead blocks until the run catches
up, so memory stays flat.

Forking is safe only while no other thread may hold a lock the child needs (one held at the fork
would stay locked in the child forever): while this process runs a single thread, or besides it
only the store writer's commit thread once everything handed to it has committed (it then waits
for work, holding nothing the child uses, and the child never writes to the store). So the child
is used only then, on platforms that fork, and for a play long enough to be worth a process
(``AHEAD_FROM`` actions); otherwise the events are rendered inline, as they always were. Either
way the run sees the same events, in the same order, as ``Played`` records. A problem the child
meets (a template that cannot render) is raised here, as the same exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from emulator.collector import streaming
from emulator.errors import EmulatorError
from emulator.play.clock import epoch_ms
from emulator.store.writer import Writer
from emulator.vendors.dialect import Event
from emulator.vendors.encoding import event_json

AHEAD_FROM = 1_000  # actions a play must have to be rendered in a child process
CHUNK = 128  # events per message on the pipe
PIPE_BYTES = 1024 * 1024  # the pipe's buffer, where the system lets it grow (Linux, by default up to 1 MiB)
_LENGTH = struct.Struct("!I")


@dataclass(slots=True)
class Played:
    """A rendered event as a run needs it: what the store keeps and the step it came from."""

    vendor: str
    type: str
    id: str
    time_ms: int
    action: str
    actor: str | None
    error: str | None
    seq: int
    faults: tuple[Any, ...]
    transaction: str | None
    user: str | None
    user_id: str | None
    username: str | None
    ip: str | None
    client: str | None
    body: bytes  # the exact bytes on the wire


def body_bytes(event: Event) -> bytes:
    """The exact bytes on the wire: compact JSON, UTF-8, like the vendors' JSON libraries."""
    return event_json(event.body, event.vendor, event.type)


def fields(event: Event) -> tuple[Any, ...]:
    """A ``Played`` record's fields, in order (what the child sends: a tuple pickles fastest)."""
    e = event
    return (
        e.vendor, e.type, e.id, epoch_ms(e.time), e.action, e.actor, e.error, e.seq, e.faults, e.transaction,
        e.user, e.user_id, e.username, e.ip, e.client, body_bytes(e),
    )  # fmt: skip


async def rendered(
    events: Callable[[], Iterator[Event]], actions: int, writer: Writer | None = None
) -> AsyncIterator[list[Played]]:
    """The play's events in chunks: from a child process when it is worth one and safe, else inline.
    ``writer``: the run's store writer, whose commit thread is let be once it is idle."""
    worth = actions >= AHEAD_FROM and hasattr(os, "fork")
    if worth and writer is not None:
        await writer.settled()  # its thread idle; nothing is handed to it before the fork (no await)
    if not worth or other_threads(writer) > 0:
        for made in _in_chunks(events()):
            yield [Played(*f) for f in made]
        return
    async for chunk in _from_child(events):
        yield chunk


def other_threads(writer: Writer | None = None) -> int:
    """Threads besides this one that may hold a lock at a fork (the writer's idle thread is not one)."""
    return threading.active_count() - 1 - (writer.threads if writer is not None else 0)


async def _from_child(events: Callable[[], Iterator[Event]]) -> AsyncIterator[list[Played]]:
    read, write = wide_pipe()
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice, by both processes
        stream.flush()
    pid = os.fork()
    if pid == 0:  # the child: render, write, and leave without running anything of the parent's
        code = 0
        try:
            os.close(read)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            with streaming(collect=False):  # as a render sets it, without copying the parent's heap
                _write_events(events(), write)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    loop = asyncio.get_running_loop()
    pipe = asyncio.StreamReader(limit=1024 * 1024)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(pipe), os.fdopen(read, "rb", 0))
    try:
        while True:
            try:
                size = _LENGTH.unpack(await pipe.readexactly(_LENGTH.size))[0]
                kind, payload = pickle.loads(await pipe.readexactly(size))
            except asyncio.IncompleteReadError:
                raise EmulatorError("the process rendering the scenario stopped before its end") from None
            if kind == "end":
                return
            if kind == "error":
                raise payload
            yield [Played(*fields) for fields in payload]
    finally:
        transport.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # done, or no longer wanted: it must not outlive the run
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def wide_pipe() -> tuple[int, int]:
    """A pipe with room for several chunks where the system allows it.

    Linux gives a pipe 64 KiB, less than one chunk of larger events (128 FusionAuth events are about
    220 KiB): the child then blocks several times per chunk and the run reads each in pieces, the two
    processes waking each other for every piece. Room for whole chunks made a run 15% faster
    (``bench/deliver.py``'s default path, keycloak and fusionauth). Where the system refuses, or
    has no such setting, the pipe stays as it was."""
    read, write = os.pipe()
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return read, write
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setting is not None:
        with contextlib.suppress(OSError):  # above the system's limit (/proc/sys/fs/pipe-max-size)
            fcntl.fcntl(write, setting, PIPE_BYTES)
    return read, write


def _in_chunks(source: Iterable[Event]) -> Iterator[list[tuple[Any, ...]]]:
    """The events as ``Played`` fields, ``CHUNK`` at a time; when the play fails, the events made
    before the failure first (the run stores and sends them, as it would have one by one)."""
    chunk: list[tuple[Any, ...]] = []
    try:
        for event in source:
            chunk.append(fields(event))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    except Exception:  # not GeneratorExit: a run that stops reading wants no more
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def _write_events(source: Iterable[Event], fd: int) -> None:
    """The child's work: every event, as tuples, a chunk per message; then an error or the end."""
    try:
        for chunk in _in_chunks(source):
            _send(fd, ("events", chunk))
    except EmulatorError as exc:
        try:
            _send(fd, ("error", exc))
        except (pickle.PicklingError, TypeError, AttributeError):
            _send(fd, ("error", EmulatorError(str(exc))))
        return
    except Exception as exc:
        _send(fd, ("error", EmulatorError(f"cannot render the scenario ({type(exc).__name__}: {exc})")))
        return
    _send(fd, ("end", None))


def _send(fd: int, message: tuple[str, Any]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]
