"""A small closed-loop HTTP load generator: C keep-alive connections spread over worker
processes (so the client is not GIL-bound), each sending requests back to back."""
from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import statistics
import time
from typing import Any
from urllib.parse import urlparse


def _worker(url: str, headers: dict[str, str], connections: int, duration: float,
            method: str, body: bytes | None, out: Any) -> None:
    import threading

    parsed = urlparse(url)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def loop() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                conn.request(method, parsed.path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    bad += 1
            except Exception:
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
                continue
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, errors[0]))


def run(url: str, *, concurrency: int = 16, duration: float = 10.0, processes: int = 2,
        headers: dict[str, str] | None = None, method: str = "GET",
        body: Any = None) -> dict[str, float]:
    raw = json.dumps(body).encode() if body is not None else None
    hdrs = dict(headers or {})
    if raw is not None:
        hdrs["Content-Type"] = "application/json"
    queue: Any = mp.Queue()
    per = [concurrency // processes + (1 if i < concurrency % processes else 0)
           for i in range(processes)]
    procs = [mp.Process(target=_worker, args=(url, hdrs, n, duration, method, raw, queue))
             for n in per if n]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    if not latencies:
        return {"requests": 0, "errors": errors, "rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    return {
        "requests": len(latencies), "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }
