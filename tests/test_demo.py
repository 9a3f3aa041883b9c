"""The README's run command: `helpdesk demo` on embedded defaults answers `helpdesk chat`, as processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from support.processes import ROOT
from support.servers import free_port


def test_the_demo_answers_a_teacher_texting_from_the_terminal(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")}
    env.update(HELPDESK_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    port = free_port()
    demo = subprocess.Popen([sys.executable, "-m", "helpdesk", "demo", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_health(port, demo)
        chat = subprocess.run(
            [sys.executable, "-m", "helpdesk", "chat", "--url", f"http://127.0.0.1:{port}", "--from", "03001234567",
             "--wait", "20"],
            input="How do I teach fractions to young children?\n", env=env, cwd=tmp_path, capture_output=True,
            text=True, timeout=120)
        assert chat.returncode == 0, chat.stderr
        replies = [line for line in chat.stdout.splitlines() if line.startswith("< ")]
        assert replies, chat.stdout
        assert "fraction" in chat.stdout.lower()
        outbox = subprocess.run([sys.executable, "-m", "helpdesk", "outbox", "--json"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert '"to": "+923001234567"' in outbox.stdout
    finally:
        demo.terminate()
        demo.wait(20)


def _wait_for_health(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"demo exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("demo did not become healthy")
