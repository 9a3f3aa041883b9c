"""Fault benchmark: the production processes under the faults a deployment meets, with a table of what was lost.

    python bench/faults.py            # outages of 30 s (about 6 minutes in all)
    python bench/faults.py --quick    # outages of 10 s (about 3 minutes)

Starts its own redis-server and PostgreSQL on loopback ports, the fake Twilio REST server
(tests/fakes/twilio_api.py, reached by the real twilio SDK), gunicorn with the helpdesk app, two
`helpdesk worker` processes and two `helpdesk scheduler` processes (one leads, one is the standby). Teachers
are simulated by posting signed Twilio webhooks to gunicorn; like Twilio with a connection override (#rc), a
webhook not answered 200 is posted again (same MessageSid) once a second. Phases, one after another:

  duplicates   every webhook posted twice, at the same moment, from two connections
  redis-down   Redis stopped for the outage while messages arrive, then started again empty (no persistence)
  worker-kill  one worker SIGKILLed mid-burst (it stays dead; the other carries on)
  twilio-5xx   the fake Twilio answers 429 for half the outage, then 500 for the other half
  postgres     PostgreSQL restarted (pg_ctl restart -m fast) mid-burst
  scheduler    the leading scheduler SIGKILLed between two lesson pushes: the standby must take over within
               its lease (SCHEDULER_LEASE_SECONDS) and no lesson may go twice

Per phase: messages sent (distinct MessageSids), acknowledged (answered 200, possibly after re-posts),
answered (teachers who got a reply; for the scheduler phase, teachers who got their lesson), lost
(acknowledged but never answered within 120 s of the fault's end), duplicated (teachers who got the same text
twice), and the time from the fault's end to the last reply. Then whether every process is still running.
Settings used (printed too): SENDER_MESSAGES_PER_SECOND=20, SWEEP_AFTER_SECONDS=20 (default 60: a message
whose worker was SIGKILLed is re-enqueued after this long plus up to one 30 s sweeper tick),
SCHEDULER_LEASE_SECONDS=30 (default 90), CPD_CHECK_SECONDS=5; everything else is the default.
"""
from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.twilio_api import FakeTwilio  # noqa: E402
from support.servers import PostgresServer, RedisServer, find_binary, free_port  # noqa: E402
from support.teachers import ACCOUNT_SID, AUTH_TOKEN, SMS_FROM  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

QUESTION = "How can I get a noisy class's attention without shouting?"
SETTINGS = dict(SENDER_MESSAGES_PER_SECOND="20", SWEEP_AFTER_SECONDS="20", SCHEDULER_LEASE_SECONDS="30",
                CPD_CHECK_SECONDS="5", LOG_LEVEL="WARNING")
ANSWER_WITHIN = 120.0  # after the fault's end; later than this counts as lost


class Cluster:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}
        self.killed: set[str] = set()

    def start(self) -> "Cluster":
        tmp = self.tmp
        self.redis = RedisServer(tmp / "redis").start()
        self.postgres = PostgresServer(tmp / "pg").start()
        self.twilio = FakeTwilio(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID).start()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
        env.update(DATABASE_URL=self.postgres.url, REDIS_URL=self.redis.url, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                   TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_API_BASE_URL=self.twilio.base_url,
                   TWILIO_SMS_FROM=SMS_FROM, PUBLIC_BASE_URL=self.base_url, HELPDESK_DATA_DIR=str(tmp),
                   PYTHONPATH=str(ROOT), **SETTINGS)
        self.env = env
        subprocess.run([sys.executable, "-m", "helpdesk", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        self._start("web", [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}",
                            "--log-level", "warning", "helpdesk:create_app()"])
        for n in (1, 2):
            self._start(f"worker{n}", [sys.executable, "-m", "helpdesk", "worker"])
        for n in (1, 2):
            self._start(f"scheduler{n}", [sys.executable, "-m", "helpdesk", "scheduler"])
            time.sleep(1.0)  # scheduler1 takes the lease first
        self._wait_for_web()
        return self

    def _start(self, name: str, cmd: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def _wait_for_web(self) -> None:
        deadline = time.monotonic() + 300  # importing the app takes a while on a busy 2-core machine
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not come up")

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)
        self.killed.add(name)

    def restart_postgres(self) -> None:
        # -m fast: open transactions are rolled back and every connection is cut, as in a failover.
        # -l: the new postmaster must not inherit pg_ctl's stdout, or waiting for pg_ctl would never end.
        self.postgres._run(find_binary("pg_ctl"), "restart", "-D", str(self.postgres.data), "-m", "fast",
                           "-w", "-t", "60", "-l", str(self.postgres.log))

    def leader(self) -> str | None:
        import psycopg

        with psycopg.connect(self.postgres.url.replace("+psycopg", ""), autocommit=True) as conn:
            row = conn.execute("SELECT holder FROM leases WHERE name = 'scheduler'").fetchone()
        if row is None:
            return None
        pid = int(row[0].split(":")[1])
        return next((name for name, proc in self.procs.items() if proc.pid == pid), None)

    def alive(self) -> dict[str, bool]:
        state = {name: proc.poll() is None for name, proc in self.procs.items()}
        web_children = subprocess.run(["pgrep", "-P", str(self.procs["web"].pid)], capture_output=True,
                                      text=True).stdout.split()
        state["web"] = state["web"] and len(web_children) == 2
        return state

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for server in ("twilio", "redis", "postgres"):
            if hasattr(self, server):
                getattr(self, server).stop()


# --- simulated teachers ---------------------------------------------------------------------------------

class Teachers:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.validator = RequestValidator(AUTH_TOKEN)
        self.url = cluster.base_url + "/twilio/inbound"
        self.pool = ThreadPoolExecutor(16)

    def _post_once(self, form: dict) -> int | None:
        body = urllib.parse.urlencode(form).encode()
        signature = self.validator.compute_signature(self.url, form)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.cluster.port, timeout=15)
            conn.request("POST", "/twilio/inbound", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
            response = conn.getresponse()
            response.read()
            conn.close()
            return response.status
        except OSError:
            return None

    def post(self, form: dict, retry_for: float = 90.0) -> tuple[bool, int]:
        """Post until answered 200 (like Twilio's retries). Returns (acknowledged, attempts)."""
        deadline = time.monotonic() + retry_for
        attempts = 0
        while time.monotonic() < deadline:
            attempts += 1
            if self._post_once(form) == 200:
                return True, attempts
            time.sleep(1.0)
        return False, attempts

    def burst(self, phones: list[str], spread: float, twice: bool = False) -> list:
        """Post one question from each phone, spread evenly over `spread` seconds. Returns (phone, future)s."""
        futures = []
        start = time.monotonic()
        for n, phone in enumerate(phones):
            due = start + spread * n / max(1, len(phones))
            time.sleep(max(0.0, due - time.monotonic()))
            form = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID, "From": phone,
                    "To": SMS_FROM, "Body": QUESTION, "NumMedia": "0"}
            futures.append((phone, self.pool.submit(self.post, form)))
            if twice:
                futures.append((phone, self.pool.submit(self.post, dict(form))))
        return futures


# --- measuring ------------------------------------------------------------------------------------------

def replies_to(twilio: FakeTwilio, phones: set[str]) -> tuple[dict[str, list[str]], float | None]:
    with twilio._cond:
        pairs = [(m["To"], m.get("Body") or m.get("ContentSid", ""), t)
                 for m, t in zip(twilio.messages, twilio.arrivals) if m["To"] in phones]
    by_phone: dict[str, list[str]] = {}
    for to, body, _ in pairs:
        by_phone.setdefault(to, []).append(body)
    return by_phone, max((t for *_, t in pairs), default=None)


def settle(twilio: FakeTwilio, phones: set[str], fault_end: float, quiet: float = 5.0) -> None:
    """Wait until every phone has a reply and nothing new arrived for `quiet` s, or ANSWER_WITHIN passes."""
    deadline = fault_end + ANSWER_WITHIN
    while time.monotonic() < deadline:
        by_phone, last = replies_to(twilio, phones)
        if len(by_phone) == len(phones) and last is not None and time.monotonic() - last > quiet:
            return
        time.sleep(0.5)


def row(name: str, phones: set[str], futures, twilio: FakeTwilio, fault_end: float, note: str = "",
        one_message_each: bool = False) -> dict:
    """One line of the table. A teacher counts as duplicated on receiving the same text twice (or, for
    lessons, more than one message at all: a second push would choose a different lesson)."""
    acked = len({phone for phone, future in futures if future.result()[0]}) if futures else len(phones)
    settle(twilio, phones, fault_end)
    by_phone, last = replies_to(twilio, phones)
    duplicated = sum(1 for bodies in by_phone.values()
                     if len(bodies) != len(set(bodies)) or (one_message_each and len(bodies) > 1))
    return dict(phase=name, sent=len(phones), acknowledged=acked, answered=len(by_phone),
                lost=len(phones) - len(by_phone), duplicated=duplicated,
                recovery=None if last is None else max(0.0, last - fault_end), note=note)


def phones_for(phase: int, count: int) -> list[str]:
    return [f"+9231{phase}{n:07d}" for n in range(count)]


# --- phases ---------------------------------------------------------------------------------------------

def phase_duplicates(cluster, teachers, outage, count):
    phones = phones_for(1, count)
    futures = teachers.burst(phones, spread=5, twice=True)
    [future.result() for _, future in futures]
    return row("duplicates", set(phones), futures, cluster.twilio, time.monotonic(), "each webhook posted twice")


def phase_redis(cluster, teachers, outage, count):
    phones = phones_for(2, count)
    cluster.redis.stop()
    futures = teachers.burst(phones, spread=outage * 0.9)
    time.sleep(max(0.0, outage - outage * 0.9))
    cluster.redis.start()
    end = time.monotonic()
    return row("redis-down", set(phones), futures, cluster.twilio, end, f"{outage:.0f} s, restarted empty")


def phase_worker_kill(cluster, teachers, outage, count):
    phones = phones_for(3, count)
    futures = []
    thread = threading.Thread(target=lambda: futures.extend(teachers.burst(phones, spread=8)))
    thread.start()
    deadline = time.monotonic() + 60
    while len(replies_to(cluster.twilio, set(phones))[0]) < count // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    cluster.kill("worker1")
    end = time.monotonic()
    thread.join()
    return row("worker-kill", set(phones), futures, cluster.twilio, end, "worker1 SIGKILLed, not restarted")


def phase_twilio(cluster, teachers, outage, count):
    phones = phones_for(4, count)
    futures = []
    thread = threading.Thread(target=lambda: futures.extend(teachers.burst(phones, spread=outage * 0.8)))
    cluster.twilio.fail_for(outage / 2, 429, 20429, "Too Many Requests")
    thread.start()
    time.sleep(outage / 2)
    cluster.twilio.fail_for(outage / 2, 500, 20500, "Internal Server Error")
    time.sleep(outage / 2)
    thread.join()
    return row("twilio-5xx", set(phones), futures, cluster.twilio, time.monotonic(),
               f"429 for {outage / 2:.0f} s, then 500 for {outage / 2:.0f} s")


def phase_postgres(cluster, teachers, outage, count):
    phones = phones_for(5, count)
    futures = []
    thread = threading.Thread(target=lambda: futures.extend(teachers.burst(phones, spread=8)))
    thread.start()
    time.sleep(2.0)
    cluster.restart_postgres()
    end = time.monotonic()
    thread.join()
    return row("postgres", set(phones), futures, cluster.twilio, end, "pg_ctl restart -m fast mid-burst")


def phase_scheduler(cluster, teachers, outage, count):
    from sqlalchemy import create_engine, insert

    from helpdesk.models import Subscription, Teacher, utcnow

    phones = phones_for(6, count)
    engine = create_engine(cluster.postgres.url)
    now = utcnow()

    def subscribe(numbers, due_at, first_id):
        with engine.begin() as conn:
            conn.execute(insert(Teacher), [dict(id=first_id + n, phone=p, channel="sms", language="en",
                                                created_at=now, onboarded=True, blocked=False,
                                                language_chosen=False) for n, p in enumerate(numbers)])
            conn.execute(insert(Subscription), [dict(teacher_id=first_id + n, active=True,
                                                     joined_at=now - timedelta(days=30), next_lesson_at=due_at,
                                                     series_position=3, updated_at=now - timedelta(days=7))
                                                for n in range(len(numbers))])

    first, second = phones[:count // 2], phones[count // 2:]
    subscribe(first, now - timedelta(minutes=1), 900_000)
    settle(cluster.twilio, set(first), time.monotonic())  # pushed by the leader
    leader = cluster.leader()
    cluster.kill(leader)
    end = time.monotonic()
    subscribe(second, utcnow() + timedelta(seconds=2), 900_000 + len(first))  # due while nobody leads
    took_over = None
    while time.monotonic() < end + 120:
        current = cluster.leader()
        if current and current != leader:
            took_over = time.monotonic() - end
            break
        time.sleep(0.5)
    engine.dispose()
    note = (f"{leader} SIGKILLed; standby led after {took_over:.0f} s" if took_over is not None
            else f"{leader} SIGKILLed; the standby never took over")
    return row("scheduler", set(phones), [], cluster.twilio, end, note, one_message_each=True)


PHASES = [phase_duplicates, phase_redis, phase_worker_kill, phase_twilio, phase_postgres, phase_scheduler]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 s outages instead of 30 s")
    parser.add_argument("--messages", type=int, default=40, help="teacher messages per phase")
    args = parser.parse_args()
    outage = 10.0 if args.quick else 30.0
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    started = time.monotonic()
    cluster = Cluster(tmp)
    rows = []
    try:
        cluster.start()
        teachers = Teachers(cluster)
        time.sleep(3.0)  # workers load the knowledge base
        for phase in PHASES:
            rows.append(phase(cluster, teachers, outage, args.messages))
            print(f"  done: {rows[-1]}", file=sys.stderr, flush=True)
        alive = cluster.alive()
    finally:
        cluster.stop()
    print(f"\nFaults: gunicorn (2 sync workers), 2 workers, 2 schedulers, PostgreSQL, Redis, fake Twilio; "
          f"outages {outage:.0f} s; {args.messages} teachers per phase; "
          f"{', '.join(f'{k}={v}' for k, v in SETTINGS.items() if k != 'LOG_LEVEL')}")
    print(f"{'phase':<12} {'sent':>5} {'acked':>6} {'answered':>9} {'lost':>5} {'dup':>4} {'recovery s':>11}  note")
    for r in rows:
        recovery = "-" if r["recovery"] is None else f"{r['recovery']:.1f}"
        print(f"{r['phase']:<12} {r['sent']:>5} {r['acknowledged']:>6} {r['answered']:>9} {r['lost']:>5} "
              f"{r['duplicated']:>4} {recovery:>11}  {r['note']}")
    print("processes at the end: " + ", ".join(
        f"{name} {'killed by the bench' if name in cluster.killed else 'running' if up else 'EXITED'}"
        for name, up in alive.items()))
    ok = (all(r["lost"] == 0 and r["duplicated"] == 0 and (r["recovery"] or 0) <= 60 for r in rows)
          and all(up for name, up in alive.items() if name not in cluster.killed))
    print(f"targets (0 lost, 0 duplicated, recovery <= 60 s, no process exited): {'MET' if ok else 'NOT MET'}; "
          f"whole run {time.monotonic() - started:.0f} s; logs in {tmp}")


if __name__ == "__main__":
    main()
