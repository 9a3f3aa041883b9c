"""Run the real `helpdesk worker` process against the test's Redis, database and fake Twilio."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def service_env(database_url: str, redis_url: str, twilio_api, **extra) -> dict[str, str]:
    from support.teachers import ACCOUNT_SID, AUTH_TOKEN, SMS_FROM, WHATSAPP_FROM

    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update(
        DATABASE_URL=database_url, REDIS_URL=redis_url, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_API_BASE_URL=twilio_api.base_url, TWILIO_SMS_FROM=SMS_FROM,
        TWILIO_WHATSAPP_FROM=WHATSAPP_FROM, PUBLIC_BASE_URL="http://localhost", SEND_BACKOFF_SECONDS="0.05",
        SENDER_MESSAGES_PER_SECOND="1000", KNOWLEDGE_BASE_DIR=str(ROOT / "tests" / "fixtures" / "kb"),
        PYTHONPATH=str(ROOT), LOG_LEVEL="INFO",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, *args: str) -> "WorkerProcess":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "helpdesk", "worker", *args], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no chance to finish the job: what an OOM kill or a crashed host does."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self._log.closed:
            self._log.close()

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(predicate, timeout: float = 20, interval: float = 0.05, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
