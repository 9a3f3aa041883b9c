"""Webhook acknowledgement benchmark: our /twilio/inbound under gunicorn + Redis, beside a bare Flask endpoint
that returns the same empty TwiML on the same server configuration.

    python bench/webhook.py [--workers 2] [--rate 200] [--seconds 10] [--postgres]

It starts its own redis-server (and PostgreSQL with --postgres; SQLite otherwise) on loopback ports,
gunicorn with N sync workers for each app, and a load generator on the same machine (so on a 2-core
box the generator competes with the server: figures are for the whole machine). Every request is a
distinct, correctly signed Twilio form, so each one is validated, stored and enqueued for real.
Prints: a steady-rate run (p50/p99 acknowledgement latency at --rate requests/s), a closed-loop
maximum-throughput run, our ratio to the bare endpoint, and the resident memory of one web and one
worker process with the shipped knowledge base loaded.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.servers import PostgresServer, RedisServer, free_port  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

TOKEN = "bench-auth-token"
PATH = "/twilio/inbound"
BARE_APP = '''
from flask import Flask
def create_app():
    app = Flask(__name__)
    @app.post("/twilio/inbound")
    def inbound():
        return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', 200, {"Content-Type": "text/xml"}
    return app
'''


def signed_requests(n: int, port: int) -> list[tuple[bytes, str]]:
    validator = RequestValidator(TOKEN)
    url = f"http://127.0.0.1:{port}{PATH}"
    out = []
    for i in range(n):
        form = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
                "From": f"+92300{i % 100000:07d}", "To": "+15005550006", "NumMedia": "0",
                "Body": "bachay class mein bohat shor karte hain, kya karun?"}
        out.append((urllib.parse.urlencode(form).encode(), validator.compute_signature(url, form)))
    return out


def _post(port: int, body: bytes, signature: str, timeout: float = 10) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", PATH, body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                   "X-Twilio-Signature": signature})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")
    return time.perf_counter() - start


def _open_loop_worker(args) -> list[float]:
    """Send this worker's share of requests at fixed times (an open loop: late requests are not skipped)."""
    port, requests, start_at, interval = args
    latencies = []
    for k, (body, signature) in enumerate(requests):
        due = start_at + k * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        latencies.append(_post(port, body, signature))
    return latencies


def steady_rate(port: int, rate: float, seconds: float, procs: int = 4) -> list[float]:
    total = int(rate * seconds)
    requests = signed_requests(total, port)
    start_at = time.perf_counter() + 0.5
    # Process p sends requests p, p+procs, ...: together they send one every 1/rate seconds.
    jobs = [(port, requests[p::procs], start_at + p / rate, procs / rate) for p in range(procs)]
    with mp.Pool(procs) as pool:
        return [lat for part in pool.map(_open_loop_worker, jobs) for lat in part]


def _closed_loop_worker(args) -> int:
    port, requests, stop_at = args
    sent = 0
    for body, signature in requests:
        if time.perf_counter() >= stop_at:
            break
        _post(port, body, signature)
        sent += 1
    return sent


def max_throughput(port: int, seconds: float, concurrency: int = 6) -> float:
    requests = signed_requests(int(2500 * seconds), port)
    start = time.perf_counter()
    stop_at = start + seconds
    jobs = [(port, requests[c::concurrency], stop_at) for c in range(concurrency)]
    with mp.Pool(concurrency) as pool:
        sent = sum(pool.map(_closed_loop_worker, jobs))
    return sent / (time.perf_counter() - start)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def start_gunicorn(app_spec: str, port: int, workers: int, env: dict, cwd: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", app_spec]
    proc = subprocess.Popen(cmd, env=env, cwd=cwd)
    wait_for_port(port)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def worker_rss_mb(env: dict, seconds: float = 20) -> float:
    """Peak RSS of one `helpdesk worker` working through the queue the benchmark filled."""
    worker = subprocess.Popen([sys.executable, "-m", "helpdesk", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, deadline = 0.0, time.monotonic() + seconds
    while time.monotonic() < deadline and worker.poll() is None:
        peak = max(peak, rss_mb(worker.pid))
        time.sleep(0.2)
    stop(worker)
    return peak


def summarise(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for each app")
    parser.add_argument("--rate", type=float, default=200, help="steady-rate requests per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of an SQLite file")
    parser.add_argument("--rounds", type=int, default=3, help="alternating max-throughput rounds (median kept)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    redis = RedisServer(tmp / "redis").start()
    postgres = PostgresServer(tmp / "pg").start() if args.postgres else None
    database_url = postgres.url if postgres else f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis.url, TWILIO_AUTH_TOKEN=TOKEN,
               HELPDESK_DATA_DIR=str(tmp), LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "helpdesk", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    (tmp / "bare_app.py").write_text(BARE_APP)

    # Both servers run side by side (the idle one costs nothing) and throughput rounds alternate between
    # them, so a burst of background load on this shared machine hurts both alike; medians are reported.
    servers = {}
    for name, spec, cwd in (("bare Flask", "bare_app:create_app()", tmp), ("helpdesk", "helpdesk:create_app()", ROOT)):
        port = free_port()
        servers[name] = (port, start_gunicorn(spec, port, args.workers, env, cwd))
    results = {}
    try:
        for name, (port, server) in servers.items():
            # Warm up: gunicorn binds the port before its workers have finished importing the app.
            for body, signature in signed_requests(args.workers * 2, port):
                _post(port, body, signature, timeout=120)
            p50, p99 = summarise(steady_rate(port, args.rate, args.seconds))
            rss = max((rss_mb(pid) for pid in child_pids(server.pid)), default=float("nan"))
            results[name] = [p50, p99, [], rss]
        for _ in range(args.rounds):
            for name, (port, _server) in servers.items():
                results[name][2].append(max_throughput(port, 5))
    finally:
        for _port, server in servers.values():
            stop(server)
    for row in results.values():
        row[2] = statistics.median(row[2])

    print(f"\nWebhook acknowledgement, gunicorn {args.workers} sync workers, "
          f"{'PostgreSQL' if postgres else 'SQLite'} + Redis, load generator on the same 2-core machine")
    print(f"{'endpoint':<12} {'p50 ms':>8} {'p99 ms':>8} {'@ req/s':>8} {'max req/s':>10} {'RSS/web MB':>11}"
          f"   (max req/s: median of {args.rounds} alternating rounds)")
    for name, (p50, p99, throughput, rss) in results.items():
        print(f"{name:<12} {p50:>8.1f} {p99:>8.1f} {args.rate:>8.0f} {throughput:>10.0f} {rss:>11.0f}")
    ratio = results["helpdesk"][2] / results["bare Flask"][2]
    print(f"throughput ratio helpdesk / bare endpoint: {ratio:.2f}x")
    sys.stdout.flush()
    print(f"worker process RSS after 20 s of draining the queue (shipped knowledge base loaded): "
          f"{worker_rss_mb(env):.0f} MB")

    redis.stop()
    if postgres:
        postgres.stop()


if __name__ == "__main__":
    main()
