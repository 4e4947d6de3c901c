"""The search server under load: concurrent searches and concurrent large uploads.

Starts `seqae serve INDEX` on 127.0.0.1 (a real uvicorn server in its own process), then

  searches   N clients at once, each posting one query clip (a search answered 503 because
             the server is full is retried after its Retry-After, as a client should);
  uploads    M clients at once, each posting a large WAV (4 MB, over the clip-length limit,
             so the server must read and refuse it; a 503 is retried the same way);

and reports, per phase, the answers by status, latency p50 / p99 / max, and the server
process's peak resident memory (VmHWM) after the phase.

    python bench/server_load.py --index demo/index --query demo/corpus/segments/X.wav
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

SEQAE = str(Path(sys.executable).with_name("seqae"))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(index: Path, port: int, extra: list[str]) -> subprocess.Popen:
    server = subprocess.Popen(
        [SEQAE, "serve", str(index), "--port", str(port), "--map-points", "0", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def post(url: str, name: str, data: bytes, retry: bool) -> tuple[int, float, int]:
    """(final status, seconds, 503 answers on the way)."""
    started, busy = time.perf_counter(), 0
    with httpx.Client(timeout=120) as client:
        while True:
            response = client.post(url, files={"file": (name, data, "audio/wav")})
            if response.status_code == 503 and retry:
                busy += 1
                time.sleep(float(response.headers.get("retry-after", "1")))
                continue
            return response.status_code, time.perf_counter() - started, busy


def phase(url: str, clients: int, name: str, data: bytes, retry: bool, pid: int) -> dict:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        started = time.perf_counter()
        results = list(pool.map(lambda _: post(url, name, data, retry), range(clients)))
        wall = time.perf_counter() - started
    seconds = np.array([r[1] for r in results])
    return {
        "clients": clients,
        "upload_bytes": len(data),
        "statuses": dict(Counter(r[0] for r in results)),
        "busy_503_retried": int(sum(r[2] for r in results)),
        "p50_s": round(float(np.percentile(seconds, 50)), 3),
        "p99_s": round(float(np.percentile(seconds, 99)), 3),
        "max_s": round(float(seconds.max()), 3),
        "wall_s": round(wall, 2),
        "server_peak_rss_mb": round(peak_rss_mb(pid), 1),
    }


def large_wav(megabytes: float) -> bytes:
    rate = 16000
    samples = int(megabytes * 1024 * 1024 / 2)
    noise = np.random.default_rng(0).normal(0, 0.05, samples).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, noise, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("demo/index"))
    parser.add_argument("--query", type=Path, required=True)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--upload-mb", type=float, default=4.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--serve-args", default="", help="extra 'seqae serve' options")
    args = parser.parse_args()
    server = start_server(args.index, args.port, args.serve_args.split())
    url = f"http://127.0.0.1:{args.port}/search"
    try:
        rows = {"idle_rss_mb": round(peak_rss_mb(server.pid), 1)}
        rows["searches"] = phase(
            url, args.searches, args.query.name, args.query.read_bytes(), True, server.pid
        )
        rows["uploads"] = phase(
            url, args.uploads, "large.wav", large_wav(args.upload_mb), True, server.pid
        )
        rows["alive_after"] = httpx.get(url.replace("/search", "/healthz")).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
