"""A small HTTP/1.1 load generator: keep-alive connections on asyncio, in worker processes.

The server under test must not share its process (or its GIL) with the clients, and a Python
HTTP client library would spend more CPU per request than the server does. Each worker process
opens ``connections`` keep-alive sockets and sends the same ``POST`` on each, one request at a
time per socket, for ``seconds``; it prints its latencies (seconds) and error count as JSON.

Run one worker: ``python -m bestnext.bench.httpload URL PATH BODY_FILE SECONDS CONNECTIONS [SEED START]``
(``BODY_FILE``: one body a line, cycled through; ``START``: the epoch second at which every
worker begins) with the request headers, one ``name: value`` per line, on stdin.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson


def request_bytes(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The raw keep-alive ``POST`` request.

    >>> request_bytes("h", 80, "/x", b"{}", {"A": "b"}).split(b"\\r\\n")[:2]
    [b'POST /x HTTP/1.1', b'Host: h:80']
    """
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive",
            "Content-Type: application/json", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length framed); returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _connection(host: str, port: int, raws: list[bytes], stop: float, want: int,
                      samples: list[float], errors: list[int], first: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    n = first
    try:
        while time.monotonic() < stop:
            raw = raws[n % len(raws)]
            n += 1
            started = time.perf_counter()
            writer.write(raw)
            status = await _read_response(reader)
            if status == want:
                samples.append(time.perf_counter() - started)
            else:
                errors[0] += 1
    finally:
        writer.close()


async def load(url: str, path: str, body: bytes | list[bytes], headers: dict[str, str], seconds: float,
               connections: int, want: int = 201, seed: int = 0) -> dict[str, Any]:
    """Send ``POST path`` on ``connections`` keep-alive sockets for ``seconds``; with several
    bodies, each socket cycles through them from its own starting point."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    bodies = body if isinstance(body, list) else [body]
    raws = [request_bytes(host, port, path, b, headers) for b in bodies]
    samples: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds
    began = time.monotonic()
    await asyncio.gather(*(_connection(host, port, raws, stop, want, samples, errors,
                                       seed * 7919 + i * len(raws) // max(connections, 1))
                           for i in range(connections)))
    return {"seconds": time.monotonic() - began, "samples": samples, "errors": errors[0]}


STARTUP_SECONDS = 5.0  # time for the worker processes to start before their common window


def run_workers(url: str, path: str, body: bytes | list[bytes], headers: dict[str, str], seconds: float,
                connections: int, processes: int, workdir: Path) -> dict[str, Any]:
    """Run ``processes`` worker processes with ``connections`` sockets each; merged results,
    with the CPU seconds the workers used (``client_cpu_s``)."""
    body_file = workdir / "load-body.jsonl"
    body_file.write_bytes(b"\n".join(body if isinstance(body, list) else [body]))
    stdin = "\n".join(f"{k}: {v}" for k, v in headers.items())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time() + STARTUP_SECONDS  # one window for every worker
    procs = [subprocess.Popen([sys.executable, "-m", "bestnext.bench.httpload", url, path, str(body_file),
                               str(seconds), str(connections), str(n), str(start)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for n in range(processes)]
    samples: list[float] = []
    errors, took = 0, 0.0
    for proc in procs:  # every worker gets its headers now: they start together
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    for proc in procs:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.wait(timeout=60)
        found = orjson.loads(out)
        samples.extend(found["samples"])
        errors += int(found["errors"])
        took = max(took, float(found["seconds"]))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": took, "samples": samples, "errors": errors, "client_cpu_s": cpu}


def main(argv: list[str]) -> None:
    url, path, body_file, seconds, connections, *rest = argv
    seed, start = (int(rest[0]), float(rest[1])) if len(rest) == 2 else (0, 0.0)
    headers = dict(line.split(": ", 1) for line in sys.stdin.read().splitlines() if ": " in line)
    bodies = [line for line in Path(body_file).read_bytes().split(b"\n") if line]
    time.sleep(max(0.0, start - time.time()))  # the workers' common start
    result = asyncio.run(load(url, path, bodies, headers, float(seconds), int(connections), seed=seed))
    sys.stdout.write(orjson.dumps(result).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
