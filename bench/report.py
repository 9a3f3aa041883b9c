"""Benchmark: the CPD needs report on 1,000,000 interactions (SQLite and PostgreSQL) and the content-gap
clustering of 10,000 questions. Targets on the 2-core machine: report < 5 s, clustering < 10 s.

    python bench/report.py                 # SQLite in a temp dir + a throwaway PostgreSQL
    DATABASE_URL=postgresql+psycopg://... python bench/report.py   # use that PostgreSQL instead
    python bench/report.py --rows 200000 --skip-postgres

Rows come from analytics.demo.generate (deterministic); SQLite gets them by executemany, PostgreSQL by COPY.
The timed report is what `helpdesk report needs` and the dashboard run: analytics.service.build_page for the
last 90 days against the 90 before (needs with suppression, weekly volume, monthly challenges), with and
without the gap clustering.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sqlalchemy import insert, text  # noqa: E402

from analytics import demo, gaps, service  # noqa: E402
from analytics.models import Interaction  # noqa: E402
from analytics.reports import Period  # noqa: E402
from helpdesk.db import Database  # noqa: E402

END = date(2025, 6, 30)
DAYS = 365
CHUNK = 50_000


def rows(n: int):
    return demo.generate(n, start=END - timedelta(days=DAYS - 1), end=END, teachers=20_000, seed=11)


def load_sqlite(db: Database, n: int) -> float:
    started = time.perf_counter()
    batch = []
    with db.engine.begin() as conn:
        for row in rows(n):
            batch.append(row)
            if len(batch) == CHUNK:
                conn.execute(insert(Interaction), batch)
                batch = []
        if batch:
            conn.execute(insert(Interaction), batch)
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def load_postgres(db: Database, n: int) -> float:
    started = time.perf_counter()
    columns = [c.name for c in Interaction.__table__.columns if c.name != "id"]
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY interactions ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows(n):
                    copy.write_row([row[c] for c in columns])
        raw.commit()
        with raw.cursor() as cursor:
            cursor.execute("ANALYZE interactions")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def time_report(db: Database, *, with_gaps: bool, repeat: int = 3) -> float:
    period = Period(END - timedelta(days=89), END)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with db.session_scope() as session:
            page = service.build_page(session, period=period, k=5, granularity="month", with_gaps=with_gaps)
        best = min(best, time.perf_counter() - started)
    assert page.needs, "the report found no needs: the benchmark data is wrong"
    return best


def gap_questions(n: int) -> list[gaps.GapQuestion]:
    """n wordings: the shipped FAQ questions with words dropped, swapped and misspelt (like teachers type)."""
    from datetime import datetime

    from knowledge_base.loader import load_directory

    base = [q for e in load_directory(Path(__file__).resolve().parent.parent / "knowledge_base" / "faqs")
            for q in e.questions]
    rng = random.Random(5)
    out = []
    for i in range(n):
        words = rng.choice(base).split()
        if len(words) > 4 and rng.random() < 0.5:
            words.pop(rng.randrange(len(words)))
        if len(words) > 3 and rng.random() < 0.3:
            a, b = rng.randrange(len(words)), rng.randrange(len(words))
            words[a], words[b] = words[b], words[a]
        if rng.random() < 0.3:
            j = rng.randrange(len(words))
            w = words[j]
            if len(w) > 3:
                k = rng.randrange(1, len(w) - 1)
                words[j] = w[:k] + w[k + 1:]
        out.append(gaps.GapQuestion(id=i, created_at=datetime(2025, 1, 1) + timedelta(minutes=i),
                                    teacher_key=f"t{rng.randrange(3000)}", area="", text=" ".join(words),
                                    current=i >= n // 2))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))

    sqlite = Database(f"sqlite:///{tmp / 'bench.sqlite3'}")
    sqlite.create_all()
    load = load_sqlite(sqlite, args.rows)
    results.append(("SQLite", load, time_report(sqlite, with_gaps=False), time_report(sqlite, with_gaps=True)))
    sqlite.dispose()

    server = None
    if not args.skip_postgres:
        url = os.environ.get("DATABASE_URL")
        if not url:
            from support.servers import PostgresServer

            server = PostgresServer(tmp).start()
            url = server.create_database("bench")
        pg = Database(url)
        try:
            pg.create_all()
            load = load_postgres(pg, args.rows)
            results.append(("PostgreSQL", load, time_report(pg, with_gaps=False), time_report(pg, with_gaps=True)))
        finally:
            pg.dispose()
            if server is not None:
                server.stop()

    questions = gap_questions(args.questions)
    started = time.perf_counter()
    found, hidden = gaps.find_gaps(questions, k=5)
    clustering = time.perf_counter() - started

    print(f"\n{args.rows:,} interactions over {DAYS} days; report = last 90 days vs previous 90, k = 5 (best of 3)\n")
    print(f"{'database':<12} {'load (s)':>10} {'needs report (s)':>17} {'with gaps (s)':>14}  target < 5 s")
    for name, load, report, full in results:
        print(f"{name:<12} {load:>10.1f} {report:>17.2f} {full:>14.2f}  {'OK' if report < 5 else 'SLOW'}")
    print(f"\ngap clustering of {len(questions):,} questions: {clustering:.2f} s "
          f"({len(found)} clusters shown, {hidden} below k)  target < 10 s  {'OK' if clustering < 10 else 'SLOW'}")
    ok = all(r[2] < 5 for r in results) and clustering < 10
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
