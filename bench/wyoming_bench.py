"""Load on the Wyoming service (issue 17): many satellites asking at once, on loopback.

The real server (`python -m voice.service`, what `numb-legs serve` runs) in a subprocess, with
its own empty diary; CLIENTS clients in this process, each running short conversations over and
over for SECONDS seconds, one connection per turn as Home Assistant makes them, the returned
context carried to the next turn. Every answer is checked against what the line should get
(handled or not-handled); a wrong kind, an error event, a refused or timed-out connection all
count as errors. The server's resident memory is read at the start, the middle and the end of
the run, then with 100 more conversations opened. Client and server share the machine's cores.
Run on its own: ``.venv/bin/python bench/wyoming_bench.py [--clients N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENTS = 50
SECONDS = 60.0
READ_TIMEOUT_S = 30.0
# Conversations a satellite might have: (line, the answer it must get) in order.
SCRIPTS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("why are my legs numb", "handled"), ("tell me more", "handled")),
    (("my legs are numb right now", "handled"), ("next", "handled"), ("next", "handled")),
    (("what's the weather tomorrow", "not-handled"), ("one", "handled")),
    (("my face is drooping", "handled"),),
    (("what is raynaud's disease", "handled"), ("what should I do", "handled")),
    (("set an alarm for seven", "not-handled"),),
    (("when should I see a doctor", "handled"),),
)


def serve_figures(clients: int = CLIENTS, seconds: float = SECONDS) -> dict[str, float]:
    """{"clients", "seconds", "turns", "turns_per_s", "handled_per_s", "p50_ms", "p95_ms",
    "errors", "rss_start_mb", "rss_mid_mb", "rss_end_mb", "rss_100_conversations_mb",
    "exit_code"}: handled_per_s counts the turns answered `handled` (the not-handled ones, out of
    domain by design, are in turns_per_s)."""
    from tests.service_process import ServiceProcess

    with tempfile.TemporaryDirectory(prefix="numb-legs-wyoming-bench-") as folder:
        server = ServiceProcess("--uri", "tcp://127.0.0.1:0", "--no-whisper",
                                "--max-connections", str(max(256, clients * 4)),
                                env_extra={"NUMB_LEGS_DATA_DIR": folder}).start()
        try:
            rss_start = server.rss_mb()
            load = asyncio.run(_load(server.uri, clients, seconds, server.rss_mb))
            rss_end = server.rss_mb()
            opened = asyncio.run(_open_conversations(server.uri, 100))
            rss_100 = server.rss_mb()
            exit_code = server.stop()
        finally:
            server.kill()
    if opened != 100:
        load.errors += 100 - opened
    latencies = sorted(load.latencies)
    return {
        "clients": float(clients),
        "seconds": round(load.elapsed, 1),
        "turns": float(len(latencies)),
        "turns_per_s": round(len(latencies) / load.elapsed, 1),
        "handled_per_s": round(load.handled / load.elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else float("nan"),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else float("nan"),
        "errors": float(load.errors),
        "rss_start_mb": round(rss_start, 1),
        "rss_mid_mb": round(load.rss_mid, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_100_conversations_mb": round(rss_100, 1),
        "exit_code": float(exit_code),
    }


class _Load:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.handled = 0
        self.errors = 0
        self.rss_mid = float("nan")
        self.elapsed = 0.0


async def _turn(uri: str, text: str, context: dict | None) -> tuple[str, dict | None]:
    from wyoming.asr import Transcript
    from wyoming.client import AsyncClient

    async with AsyncClient.from_uri(uri, connect_timeout=READ_TIMEOUT_S,
                                    read_timeout=READ_TIMEOUT_S) as client:
        await client.write_event(Transcript(text=text, context=context).event())
        answer = await client.read_event()
    if answer is None:
        return "closed", None
    return answer.type, answer.data.get("context")


async def _load(uri: str, clients: int, seconds: float, rss) -> _Load:
    load = _Load()
    start = time.perf_counter()
    end = start + seconds

    async def client(index: int) -> None:
        round_ = index
        while time.perf_counter() < end:
            context = None
            for text, wanted in SCRIPTS[round_ % len(SCRIPTS)]:
                began = time.perf_counter()
                try:
                    kind, context = await _turn(uri, text, context)
                except (OSError, TimeoutError, asyncio.IncompleteReadError):
                    load.errors += 1
                    break
                load.latencies.append((time.perf_counter() - began) * 1000)
                if kind != wanted:
                    load.errors += 1
                    break
                load.handled += kind == "handled"
            round_ += 1

    async def sample_middle() -> None:
        await asyncio.sleep(seconds / 2)
        load.rss_mid = await asyncio.to_thread(rss)

    await asyncio.gather(sample_middle(), *(client(i) for i in range(clients)))
    load.elapsed = time.perf_counter() - start
    return load


async def _open_conversations(uri: str, count: int) -> int:
    """Open COUNT conversations, each two turns into the relief routine; how many got there."""
    async def one() -> bool:
        kind, context = await _turn(uri, "my legs are numb right now", None)
        kind, _ = await _turn(uri, "next", context)
        return kind == "handled"

    return sum(await asyncio.gather(*(one() for _ in range(count))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args()
    print(json.dumps(serve_figures(args.clients, args.seconds), indent=2))


if __name__ == "__main__":
    main()
