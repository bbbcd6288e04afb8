"""A lean SMTP sink for benchmarks: accepts everything on loopback, counts messages.

Far lighter than a real MTA (no parsing, no storage), so it measures the sender, not
itself; ``bench/digest_send.py`` reports its ceiling. It understands the commands a sender
needs (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and PIPELINING.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.sharedctypes import Synchronized

GREETING = b"220 sink ESMTP\r\n"
EHLO = b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n"


class Counter:
    def __init__(self, count: Synchronized, last: Synchronized) -> None:
        self.count = count
        self.last = last


async def _session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: Counter):
    writer.write(GREETING)
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await reader.readuntil(b"\r\n.\r\n")
                with counter.count.get_lock():
                    counter.count.value += 1
                counter.last.value = time.time()
                writer.write(b"250 2.0.0 queued\r\n")
            elif verb in (b"EHLO",):
                writer.write(EHLO)
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                writer.write(b"250 OK\r\n")
            if not reader._buffer:
                await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


def _serve(
    port: int, count: Synchronized, last: Synchronized, ready: multiprocessing.Event
) -> None:  # type: ignore[valid-type]
    counter = Counter(count, last)

    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _session(r, w, counter), "127.0.0.1", port, limit=2**22
        )
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Sink:
    """The sink in its own process, with a shared message counter."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.count = multiprocessing.Value("q", 0)
        self.last = multiprocessing.Value("d", 0.0)
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(
            target=_serve, args=(port, self.count, self.last, ready), daemon=True
        )
        self.process.start()
        if not ready.wait(10):
            raise RuntimeError("SMTP sink did not start")

    @property
    def received(self) -> int:
        return int(self.count.value)

    def reset(self) -> None:
        self.count.value = 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()
