"""The log writer's own process: builds the rows of captured requests and COPYs them, off the web process's core.

The web process (server/apilogs/writer.py) keeps the buffer and sends it here
in batches through a pipe, each as one msgpack frame of `RawCapture`s; this
process decodes, redacts, computes the search words, COPYs and publishes to the
live tail, then answers with how many rows it stored or what went wrong. It
keeps nothing of its own: a batch not answered for is still in the web
process's buffer, so a writer process that dies loses nothing (it is started
again and the batch resent).

It runs at a lower CPU priority (`NICENESS`): under load the requests come
first, and the web process's bounded buffer absorbs the lag.

    python -m server.apilogs.writerproc     # started by LogWriter.start(), never by hand
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import struct
import sys
from pathlib import Path

import msgspec

from server import db, faults, infra, logs
from server.apilogs import batches
from server.apilogs.capture import RawCapture
from server.settings import get_settings

log = logging.getLogger(__name__)
NICENESS = 10  # below the web process's requests; a nice-0 process gets ~10x its share of a busy core
FRAME_HEADER = struct.Struct(">I")
IN_FLIGHT = 2  # batches sent before the first is answered: the next is built while the one before is copied


class Config(msgspec.Struct):
    """The first frame: what the writer process needs of the web process's settings."""

    database_url: str
    redis_url: str
    body_max_bytes: int
    log_level: str
    log_format: str
    # Tests only (honoured with PAYDECK_TEST_FAULTS on): "crash-after-commit" ends the process right after its
    # first batch committed, before it answers, as `kill -9` would. Given to one process only (see _started).
    test_fault: str | None = None


class Batch(msgspec.Struct, array_like=True):
    captures: list[RawCapture]
    id: str  # the same when the batch is sent again: stored once (server/apilogs/batches.py copy)


class Answer(msgspec.Struct, array_like=True):
    written: int
    error: str | None = None  # the batch was not stored (PostgreSQL unreachable, ...): send it again later


class WriterGone(ConnectionError):
    """The writer process ended or broke the protocol; what it had not answered for is still buffered."""


_batch_decoder = msgspec.msgpack.Decoder(Batch)
_answer_decoder = msgspec.msgpack.Decoder(Answer)
_encoder = msgspec.msgpack.Encoder()


def frame(message: msgspec.Struct) -> bytes:
    payload = _encoder.encode(message)
    return FRAME_HEADER.pack(len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """One frame's payload, or None at the end of the stream."""
    try:
        header = await reader.readexactly(FRAME_HEADER.size)
        return await reader.readexactly(FRAME_HEADER.unpack(header)[0])
    except asyncio.IncompleteReadError as end:
        if end.partial:
            raise WriterGone("the pipe ended inside a frame") from end
        return None


class WriterProcess:
    """The web process's end: start the writer process, send it batches, read its answers in order."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None

    async def _started(self) -> asyncio.subprocess.Process:
        if self.proc is None or self.proc.returncode is not None:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "server.apilogs.writerproc", env=_child_environment(),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            assert self.proc.stdin is not None
            self.proc.stdin.write(frame(self.config))
            if self.config.test_fault is not None:  # one process crashes; the one started after it does not
                self.config = msgspec.structs.replace(self.config, test_fault=None)
        return self.proc

    async def send(self, batch_id: str, captures: list[RawCapture]) -> None:
        proc = await self._started()
        assert proc.stdin is not None
        try:
            proc.stdin.write(frame(Batch(captures, batch_id)))
            await proc.stdin.drain()
        except (ConnectionError, BrokenPipeError) as gone:
            raise WriterGone(f"the writer process is gone ({gone})") from gone

    async def answer(self) -> Answer:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        payload = await read_frame(proc.stdout)
        if payload is None:
            raise WriterGone(f"the writer process ended (exit status {await proc.wait()})")
        return _answer_decoder.decode(payload)

    async def abandon(self) -> None:
        """After a broken exchange: end the process; the next send starts a fresh one."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def close(self) -> None:
        """Ask the process to finish (end of its input) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=3)  # a COPY waiting on a lock is rolled back by the kill
        except TimeoutError:
            proc.kill()
            await proc.wait()


def _child_environment() -> dict[str, str]:
    """This process's environment, with the folder this `server` package came from first on the import path,
    so the writer runs the same code as the web process wherever that was started from."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


# The writer process itself.

async def _pipes() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Frames come on stdin and go out on the original stdout; anything else printed goes to stderr."""
    loop = asyncio.get_running_loop()
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out)
    return reader, asyncio.StreamWriter(transport, protocol, None, loop)


async def serve() -> None:
    reader, writer = await _pipes()
    first = await read_frame(reader)
    if first is None:
        return
    config = msgspec.msgpack.decode(first, type=Config)
    logs.configure(config.log_level, config.log_format)
    db.configure(config.database_url)
    await db.open_pool(1, 2)
    await infra.open_redis(config.redis_url)
    crash_after_commit = config.test_fault == "crash-after-commit" and get_settings().test_faults
    built: asyncio.Queue[tuple[str, list[tuple]] | None] = asyncio.Queue(maxsize=1)

    async def build() -> None:  # builds batch N+1 while batch N is being copied
        while (payload := await read_frame(reader)) is not None:
            batch = _batch_decoder.decode(payload)
            await built.put((batch.id, await batches.build_rows(batch.captures, config.body_max_bytes)))
        await built.put(None)

    builder = asyncio.create_task(build(), name="apilogs:build")
    try:
        while (item := await built.get()) is not None:
            batch_id, rows = item
            try:
                answer = Answer(await batches.write_rows(rows, batch_id))
            except Exception as error:  # the connection, not the rows: the web process keeps the batch
                log.warning("API log batch not written; the web process keeps it and retries", exc_info=True)
                answer = Answer(0, f"{type(error).__name__}: {error}")
            if crash_after_commit and answer.error is None:
                os._exit(faults.CRASH_EXIT_CODE)  # committed, not answered: the web process sends it again
            try:
                writer.write(frame(answer))
                await writer.drain()
            except (ConnectionError, BrokenPipeError):  # the web process is gone (killed): no one to answer
                return
        await builder
    finally:
        builder.cancel()
        with contextlib.suppress(Exception):
            await infra.close_redis()
            await db.close_pool()


def main() -> None:
    # It ends when its input does: the web process closes it after its last flush, or dies. A Ctrl-C or a
    # SIGTERM sent to the whole process group must not end it before the web process's shutdown flush.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    # Until the first frame says how the web process logs. The app's own handler, which logs.configure()
    # then replaces: a basicConfig handler stayed beside it and printed every record again, with its whole
    # traceback (an outage's pool warnings too, which the app's handler holds back).
    logs.configure("WARNING")
    asyncio.run(serve())


if __name__ == "__main__":
    main()
