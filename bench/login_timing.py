"""Login timing: a wrong password for a known email against any password for an unknown one.

    python bench/login_timing.py [--rounds 40]

Before issue 12 the known email took 84 ms (one scrypt check) and the unknown one 3 ms (no hash at all), so
the response time told a guesser which addresses have accounts. Now an unknown email costs a dummy scrypt
check too; the ratio should be close to 1. Runs the real app (SQLite in a temp dir) through Flask's test
client, alternating the two kinds of request so machine load affects both alike; prints medians.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk import create_app  # noqa: E402
from helpdesk.web.admin import create_user  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"data_dir": Path(tmp), "database_url": f"sqlite:///{tmp}/bench.sqlite3",
                          "twilio_auth_token": "bench-token", "log_level": "WARNING",
                          # the throttle would answer 429 after 5 tries: measure the password check only
                          "login_limit_per_account": "100000 per minute",
                          "login_limit_per_address": "100000 per minute"})
        rt = app.extensions["helpdesk"]
        rt.db.create_all()
        with rt.db.session_scope() as session:
            create_user(session, email="known@example.org", name="K", role="expert", password="correct horse battery")
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)

        def attempt(email: str) -> float:
            started = time.perf_counter()
            response = client.post("/login", data={"email": email, "password": "wrong guess", "csrf_token": token})
            assert response.status_code == 401, response.status_code
            return (time.perf_counter() - started) * 1000

        attempt("warm-up@example.org")
        known, unknown = [], []
        for n in range(args.rounds):
            known.append(attempt("known@example.org"))
            unknown.append(attempt(f"nobody{n}@example.org"))
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"login with a wrong password, median of {args.rounds}:")
    print(f"  known email    {k:7.1f} ms")
    print(f"  unknown email  {u:7.1f} ms")
    print(f"  ratio unknown/known {u / k:.2f}")


if __name__ == "__main__":
    main()
