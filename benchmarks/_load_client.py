"""The load generator of api_load.py, in a process of its own: ``--clients`` keep-alive
HTTP/1.1 connections on one asyncio (uvloop) event loop, each sending ``GET
/customers/{id}`` for random ids of ``--ids`` (a file, one id a line) for ``--seconds``.

    python benchmarks/_load_client.py --port 8000 --ids ids.txt --clients 50 --seconds 30

Why not threads with ``http.client``: 50 Python threads contend for one GIL, so a response
that has arrived waits for its thread to be scheduled and the wait is counted as latency;
the threads also burn more CPU than the server they measure, on the same two cores. Here one
event loop reads each response as it arrives and does almost nothing else (a request is a
pre-built byte string; a response is its headers' Content-Length and that many bytes).

Prints "ready" once the connections are open, then, at the end, one JSON line: requests,
seconds, p50/p99/max latency, errors (any status but 200, or a failed connection, with the
first five), and this process's own CPU seconds, so the reader can see what share of the
two cores the client took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import time
from urllib.parse import quote

REQUEST_TIMEOUT = 30.0


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def run(port: int, ids: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    connections = [Connection(port) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    print("ready", flush=True)
    requests = [
        f"GET /customers/{quote(customer, safe='')} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
        for customer in ids
    ]
    deadline = time.monotonic() + seconds

    async def client(index: int, connection: Connection) -> None:
        chooser = random.Random(index)
        while time.monotonic() < deadline:
            request = chooser.choice(requests)
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(connection.get(request), REQUEST_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                errors.append(f"{type(e).__name__}: {e}")
                connection.close()
                connection = Connection(port)
                await connection.open()
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(f"{status} {request.split(b' ')[1].decode()}")
        connection.close()

    started = time.monotonic()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(client(i, c) for i, c in enumerate(connections)))
    elapsed = time.monotonic() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    quantile = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(quantile[49] * 1000, 2),
        "p99_ms": round(quantile[98] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "errors": len(errors),
        "first_errors": errors[:5],
        "client_cpu_seconds": round(used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ids", required=True, help="a file of customer ids, one a line")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with open(args.ids, encoding="utf-8") as lines:
        ids = [line.strip() for line in lines if line.strip()]
    try:
        import uvloop
    except ImportError:  # the standard loop measures the same, with a little more client CPU
        runner = asyncio.run
    else:
        runner = uvloop.run
    print(json.dumps(runner(run(args.port, ids, args.clients, args.seconds))), flush=True)


if __name__ == "__main__":
    main()
