"""`helpdesk cpd preview` and `helpdesk cpd push --dry-run` against a real database."""
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from helpdesk.cpd import subscriptions as cpd
from helpdesk.cli import main
from helpdesk.models import LessonDelivery, OutboundMessage, Teacher, utcnow


def test_preview_and_dry_run_show_the_choice_and_send_nothing(make_app, sqlite_url, tmp_path):
    rt = make_app(sqlite_url).extensions["helpdesk"]
    now = utcnow()
    with rt.db.session_scope() as session:
        for number, subjects in enumerate(["maths", "urdu", "science"]):
            teacher = Teacher(phone=f"+92300777000{number}", subjects=subjects, school_level="primary")
            session.add(teacher)
            session.flush()
            cpd.subscribe(session, rt, teacher, now=now - timedelta(days=5))
    env = {"DATABASE_URL": sqlite_url, "HELPDESK_DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    preview = runner.invoke(main, ["cpd", "preview", "--phone", "+923007770000"], env=env)
    assert preview.exit_code == 0, preview.output
    assert "+92300****000" in preview.output and "923007770000" not in preview.output
    assert "next lesson:" in preview.output and "rule: subject-grade: it fits your subject (maths)" in preview.output

    dry = runner.invoke(main, ["cpd", "push", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "due: 3 teachers in 1 batches" in dry.output and "'subject-grade': 3" in dry.output
    with rt.db.session_scope() as session:
        assert session.scalars(select(LessonDelivery)).all() == []
        assert session.scalars(select(OutboundMessage)).all() == []

    missing = runner.invoke(main, ["cpd", "preview", "--phone", "+923009999999"], env=env)
    assert missing.exit_code != 0 and "no teacher" in missing.output
