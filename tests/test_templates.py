"""`helpdesk templates sync` against the fake Twilio Content API with the real SDK, and the SID lookup the
send path uses (hand-made SIDs in the settings first, then what the sync recorded)."""
from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from helpdesk.channels import templates, twilio_content
from helpdesk.channels.templates import TemplateSids
from helpdesk.cli import main
from helpdesk.db import Database
from helpdesk.models import ContentTemplate, Teacher, utcnow
from helpdesk.settings import Settings
from support.experts import add_expert, expert_says, open_ticket_for
from support.teachers import ACCOUNT_SID, AUTH_TOKEN

EVERY_TEMPLATE = {(spec.name, spec.language) for spec in templates.CATALOGUE}
WA_TEACHER = "+923331234567"
MATHS = "+923110000001"


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def twilio_env(monkeypatch, database_url, twilio_api):
    for name, value in (("DATABASE_URL", database_url), ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
                        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN), ("TWILIO_API_BASE_URL", twilio_api.base_url)):
        monkeypatch.setenv(name, value)


def run_sync(*args: str):
    return CliRunner().invoke(main, ["templates", "sync", *args])


def recorded(db) -> dict[tuple[str, str], ContentTemplate]:
    with db.session_scope() as session:
        return {(row.name, row.language): row for row in session.scalars(select(ContentTemplate))}


def writes(twilio_api) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in twilio_api.requests if r["method"] in ("POST", "PUT", "DELETE")]


def table_row(output: str, name: str, language: str) -> list[str]:
    for line in output.splitlines():
        cells = line.split()
        if cells[:2] == [name, language]:
            return cells
    raise AssertionError(f"no row for {name}/{language} in:\n{output}")


def test_sync_creates_every_template_records_its_sid_and_submits_the_out_of_window_ones(db, twilio_env,
                                                                                      twilio_api):
    result = run_sync()
    assert result.exit_code == 0, result.output

    rows = recorded(db)
    assert set(rows) == EVERY_TEMPLATE and len(EVERY_TEMPLATE) == 3 * (3 + 9 + 2)
    assert {row.sid for row in rows.values()} == set(twilio_api.contents)  # one resource each, all recorded
    assert all(r["auth_ok"] for r in twilio_api.requests)
    for (name, language), row in rows.items():
        content = twilio_api.contents[row.sid]
        assert table_row(result.output, name, language)[2:4] == [row.sid, row.content_type]
        assert content["friendly_name"].startswith(f"helpdesk_{name}_{language}_".replace("-", "_"))
        assert "twilio/text" in content["types"]  # what channels without buttons or lists show
    # The choices contract the renderer relies on.
    quick = twilio_api.contents[rows[("choices-quick-3", "ur")].sid]["types"]["twilio/quick-reply"]
    assert quick == {"body": "{{1}}", "actions": [
        {"title": "{{2}}", "id": "1"}, {"title": "{{3}}", "id": "2"}, {"title": "{{4}}", "id": "3"}]}
    picker = twilio_api.contents[rows[("choices-list-10", "en")].sid]["types"]["twilio/list-picker"]
    assert (picker["body"], picker["button"]) == ("{{1}}", "{{2}}")
    assert [(i["item"], i["id"]) for i in picker["items"]] == [
        ("{{%d}}" % (n + 2), str(n)) for n in range(1, 11)]
    fallback = twilio_api.contents[rows[("choices-list-2", "en")].sid]["types"]["twilio/text"]["body"]
    assert fallback == "{{1}}\n1. {{3}}\n2. {{4}}"
    # Only answer-ready and lesson-invite go to WhatsApp for approval, as UTILITY under their own names.
    submitted = {key for key, row in rows.items() if twilio_api.contents[row.sid]["approval"] is not None}
    assert submitted == {(name, lang) for name in ("answer-ready", "lesson-invite")
                         for lang in templates.LANGUAGES}
    answer_ready = twilio_api.contents[rows[("answer-ready", "roman-ur")].sid]
    assert answer_ready["approval"]["category"] == "UTILITY"
    assert answer_ready["approval"]["name"] == answer_ready["friendly_name"]
    assert "{{1}}" in answer_ready["types"]["twilio/text"]["body"] and answer_ready["variables"]["1"]
    assert rows[("answer-ready", "roman-ur")].approval_status == "received"
    assert table_row(result.output, "answer-ready", "roman-ur")[4:] == ["received", "created"]
    assert table_row(result.output, "choices-list-4", "ur")[4:] == ["session", "only", "created"]
    assert rows[("choices-list-4", "ur")].approval_status is None


def sdk_client(twilio_api):
    return twilio_content.make_client(Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                                               twilio_api_base_url=twilio_api.base_url))


def test_a_second_run_changes_nothing(db, twilio_env, twilio_api):
    # Someone else's templates in the account too: more than one page of the Content list.
    from twilio.rest.content.v1.content import ContentList

    for n in range(30):
        sdk_client(twilio_api).content.v1.contents.create(ContentList.ContentCreateRequest(
            {"friendly_name": f"other_{n}", "language": "en", "types": {"twilio/text": {"body": f"Other {n}"}}}))
    assert run_sync().exit_code == 0
    before = {key: (row.sid, row.definition_hash, row.approval_status, row.synced_at)
              for key, row in recorded(db).items()}
    contents_before = set(twilio_api.contents)
    twilio_api.requests.clear()

    again = run_sync()
    assert again.exit_code == 0, again.output
    assert writes(twilio_api) == []
    assert set(twilio_api.contents) == contents_before
    assert {key: (row.sid, row.definition_hash, row.approval_status, row.synced_at)
            for key, row in recorded(db).items()} == before
    total = len(EVERY_TEMPLATE)
    assert again.output.splitlines()[-1] == f"{total} templates: {total} unchanged"
    assert table_row(again.output, "lesson-invite", "en")[-1] == "unchanged"
    assert any(r["query"].get("PageToken") for r in twilio_api.requests)  # the SDK read the second page


def test_a_fresh_database_records_the_templates_already_in_the_account_instead_of_duplicating_them(
        db, twilio_env, twilio_api):
    assert run_sync().exit_code == 0
    first = {key: row.sid for key, row in recorded(db).items()}
    with db.session_scope() as session:  # as if the run had stopped before recording, or a new database
        session.query(ContentTemplate).delete()
    twilio_api.requests.clear()

    result = run_sync()
    assert result.exit_code == 0, result.output
    assert {key: row.sid for key, row in recorded(db).items()} == first
    assert writes(twilio_api) == [] and len(twilio_api.contents) == len(EVERY_TEMPLATE)
    assert table_row(result.output, "answer-ready", "en")[4:] == ["received", "recorded"]


def test_a_changed_definition_replaces_the_template_and_deletes_the_old_one(db, twilio_api):
    settings = Settings(database_url=db.url, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                        twilio_api_base_url=twilio_api.base_url)
    client = twilio_content.make_client(settings)
    twilio_content.sync(client, db)
    old = recorded(db)

    new_text = "Hello {{1}}, your answer is here. Reply OPEN to see it."
    edited = tuple(dataclasses.replace(spec, body=new_text)
                   if (spec.name, spec.language) == ("answer-ready", "en") else spec for spec in templates.CATALOGUE)
    reports = {(r.name, r.language): r for r in twilio_content.sync(client, db, specs=edited)}

    changed = reports[("answer-ready", "en")]
    assert changed.action == "replaced" and changed.sid != old[("answer-ready", "en")].sid
    assert changed.note == f"old {old[('answer-ready', 'en')].sid} deleted"
    assert old[("answer-ready", "en")].sid not in twilio_api.contents
    new = twilio_api.contents[changed.sid]
    assert new["types"]["twilio/text"]["body"].startswith("Hello {{1}}, your answer is here.")
    assert new["approval"]["status"] == "received" and changed.approval == "received"  # submitted afresh
    now = recorded(db)
    assert now[("answer-ready", "en")].sid == changed.sid
    assert now[("answer-ready", "en")].definition_hash != old[("answer-ready", "en")].definition_hash
    assert {key for key, r in reports.items() if r.action != "unchanged"} == {("answer-ready", "en")}
    assert all(now[key].sid == old[key].sid for key in EVERY_TEMPLATE - {("answer-ready", "en")})


def test_the_report_shows_whatsapps_approval_verdicts(db, twilio_env, twilio_api):
    assert run_sync().exit_code == 0
    rows = recorded(db)
    twilio_api.set_approval(rows[("answer-ready", "ur")].sid, "approved")
    twilio_api.set_approval(rows[("lesson-invite", "en")].sid, "rejected", "INVALID_FORMAT")
    twilio_api.requests.clear()

    result = run_sync()
    assert result.exit_code == 0, result.output
    assert table_row(result.output, "answer-ready", "ur")[4] == "approved"
    assert table_row(result.output, "lesson-invite", "en")[4] == "rejected"
    assert table_row(result.output, "answer-ready", "en")[4] == "received"
    assert writes(twilio_api) == []  # a verdict is read, never resubmitted
    now = recorded(db)
    assert now[("answer-ready", "ur")].approval_status == "approved"
    assert now[("lesson-invite", "en")].approval_status == "rejected"


def test_dry_run_says_what_it_would_do_and_changes_nothing(db, twilio_env, twilio_api):
    result = run_sync("--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Dry run: nothing was changed at Twilio or in the database."
    assert table_row(result.output, "choices-quick-2", "en")[2:] == [
        "-", "twilio/quick-reply", "session", "only", "would", "create"]
    assert table_row(result.output, "answer-ready", "ur")[4:] == ["would", "submit", "would", "create"]
    assert writes(twilio_api) == [] and twilio_api.contents == {} and recorded(db) == {}

    assert run_sync().exit_code == 0
    twilio_api.requests.clear()
    after = run_sync("--dry-run")
    assert table_row(after.output, "answer-ready", "ur")[4:] == ["received", "unchanged"]
    assert writes(twilio_api) == []


def test_without_twilio_credentials_it_says_so_and_fails(db, database_url, monkeypatch, twilio_api):
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = run_sync()
    assert result.exit_code == 2
    assert "No Twilio credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.output
    assert twilio_api.requests == [] and recorded(db) == {}


def test_twilio_refusing_a_request_is_a_clear_error_not_a_traceback(db, twilio_env, twilio_api, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
    result = run_sync()
    assert result.exit_code == 1 and "The sync stopped at a Twilio error" in result.output
    assert "Traceback" not in result.output and recorded(db) == {}


# --- the lookup ----------------------------------------------------------------------------------

def add_row(db, name: str, language: str, sid: str, status: str | None) -> None:
    with db.session_scope() as session:
        session.add(ContentTemplate(name=name, language=language, sid=sid, content_type="twilio/text",
                                    definition_hash="x" * 64, approval_status=status))


def test_the_lookup_prefers_hand_made_sids_then_approved_synced_ones(db):
    synced, by_hand, by_json = "HX" + "1" * 32, "HX" + "2" * 32, "HX" + "3" * 32
    add_row(db, "answer-ready", "ur", synced, "approved")
    add_row(db, "answer-ready", "en", "HX" + "4" * 32, "received")   # not approved yet: unusable
    add_row(db, "lesson-invite", "en", "HX" + "5" * 32, "approved")
    add_row(db, "choices-quick-2", "en", "HX" + "6" * 32, None)       # session only: needs no approval

    plain = TemplateSids(db, Settings(database_url=db.url))
    assert plain("answer-ready", "ur") == synced
    assert plain("answer-ready", "en") is None
    assert plain("lesson-invite", "roman-ur") == "HX" + "5" * 32      # no Roman Urdu one: the English one
    assert plain("choices-quick-2", "ur") == "HX" + "6" * 32
    assert plain("choices-quick-3", "en") is None

    legacy = TemplateSids(db, Settings(database_url=db.url, whatsapp_answer_ready_template_sid=by_hand))
    assert legacy("answer-ready", "ur") == by_hand and legacy("lesson-invite", "en") == "HX" + "5" * 32
    mapped = TemplateSids(db, Settings(database_url=db.url, whatsapp_answer_ready_template_sid=by_hand,
                                       whatsapp_template_sids={"answer-ready/ur": by_json}))
    assert mapped("answer-ready", "ur") == by_json and mapped("answer-ready", "en") == by_hand


def test_the_lookup_reads_the_table_again_after_its_ttl(db):
    sids = TemplateSids(db, Settings(database_url=db.url), ttl=0.0)
    assert sids("answer-ready", "en") is None
    add_row(db, "answer-ready", "en", "HX" + "7" * 32, "approved")
    assert sids("answer-ready", "en") == "HX" + "7" * 32
    cached = TemplateSids(db, Settings(database_url=db.url), ttl=3600)
    assert cached("choices-list-3", "en") is None
    add_row(db, "choices-list-3", "en", "HX" + "8" * 32, None)
    assert cached("choices-list-3", "en") is None
    cached.invalidate()
    assert cached("choices-list-3", "en") == "HX" + "8" * 32


def test_whatsapp_template_sids_setting_is_json_checked():
    from helpdesk.settings import SettingsError

    env = {"WHATSAPP_TEMPLATE_SIDS": '{"answer-ready/ur": "HX' + "9" * 32 + '"}'}
    assert Settings.from_env(env).whatsapp_template_sids == {"answer-ready/ur": "HX" + "9" * 32}
    with pytest.raises(SettingsError, match="WHATSAPP_TEMPLATE_SIDS must be a JSON object"):
        Settings.from_env({"WHATSAPP_TEMPLATE_SIDS": '["HX1"]'})


# --- the send path -------------------------------------------------------------------------------

def test_an_answer_held_outside_the_window_goes_out_with_the_synced_answer_ready_template(app, twilio_api):
    rt = app.extensions["helpdesk"]
    assert rt.settings.whatsapp_answer_ready_template_sid is None  # nothing made by hand
    client = twilio_content.make_client(rt.settings)
    twilio_content.sync(client, rt.db)
    urdu = recorded(rt.db)[("answer-ready", "ur")].sid
    twilio_api.set_approval(urdu, "approved")
    twilio_content.sync(client, rt.db)  # records the approval

    add_expert(rt, MATHS, ["maths"])
    ticket_id = open_ticket_for(rt, WA_TEACHER, "Students cannot understand fractions", channel="whatsapp",
                                subjects="maths", language="ur", name="Ayesha Khan")
    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.phone == WA_TEACHER)).one()
        teacher.last_whatsapp_inbound_at = teacher.last_inbound_at = utcnow() - timedelta(hours=25)
    expert_says(rt, MATHS, f"#{ticket_id} Fold paper strips into halves.")

    to_teacher = [m for m in twilio_api.messages if m["To"] == f"whatsapp:{WA_TEACHER}"]
    assert [(m["ContentSid"], json.loads(m["ContentVariables"])) for m in to_teacher] == [
        (urdu, {"1": "Ayesha Khan"})]
    assert not to_teacher[0].get("Body")


def test_a_lesson_outside_the_window_is_announced_with_the_synced_lesson_invite_in_the_teachers_language(
        app, twilio_api):
    from helpdesk.cpd import subscriptions as cpd
    from workers.cpd_jobs import push_due_lessons

    rt = app.extensions["helpdesk"]
    client = twilio_content.make_client(rt.settings)
    twilio_content.sync(client, rt.db)
    roman = recorded(rt.db)[("lesson-invite", "roman-ur")].sid
    twilio_api.set_approval(roman, "approved")
    twilio_content.sync(client, rt.db)

    now = utcnow()
    with rt.db.session_scope() as session:
        teacher = Teacher(phone="+923331110004", channel="whatsapp", name="Sana Ali", language="roman-ur",
                          last_whatsapp_inbound_at=now - timedelta(hours=30))
        session.add(teacher)
        session.flush()
        cpd.subscribe(session, rt, teacher, now=now - timedelta(days=3))
        cpd.subscription_of(session, teacher).next_lesson_at = now - timedelta(minutes=1)
    push_due_lessons(now.isoformat())
    rt.jobs.drain()

    (invite,) = [m for m in twilio_api.messages if m["To"] == "whatsapp:+923331110004"]
    assert invite["ContentSid"] == roman
    variables = json.loads(invite["ContentVariables"])
    assert variables["1"] == "Sana" and variables["2"]  # the first name and the lesson's title


def test_a_teacher_without_a_name_is_greeted_by_role_since_twilio_refuses_empty_variables(make_app, database_url,
                                                                                           twilio_api):
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as refused:  # what the fake (like Twilio) does with an empty one
        sdk_client(twilio_api).messages.create(to=f"whatsapp:{WA_TEACHER}", from_="whatsapp:+14155238886",
                                               content_sid="HX" + "a" * 32, content_variables='{"1": ""}')
    assert refused.value.code == 21656

    hand_made = "HX" + "b" * 32
    app = make_app(database_url, whatsapp_answer_ready_template_sid=hand_made)
    rt = app.extensions["helpdesk"]
    add_expert(rt, MATHS, ["maths"])
    ticket_id = open_ticket_for(rt, WA_TEACHER, "Students cannot understand fractions", channel="whatsapp",
                                subjects="maths", language="roman-ur")
    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.phone == WA_TEACHER)).one()
        assert not teacher.name
        teacher.last_whatsapp_inbound_at = teacher.last_inbound_at = utcnow() - timedelta(hours=25)
    expert_says(rt, MATHS, f"#{ticket_id} Fold paper strips into halves.")

    (template,) = [m for m in twilio_api.messages if m["To"] == f"whatsapp:{WA_TEACHER}"]
    assert template["ContentSid"] == hand_made
    assert json.loads(template["ContentVariables"]) == {"1": "Ustad sahib"}
