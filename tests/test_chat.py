"""`helpdesk chat` against a running service: replies come from GET /dev/outbox, not from a database file, and
WhatsApp choices are shown as buttons that a typed number or title taps."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from support.browser import LiveServer
from support.processes import ROOT, wait_until
from support.servers import free_port
from support.teachers import AUTH_TOKEN, sign

from helpdesk.channels.base import Choices, Option
from helpdesk.chat import ChatSession, buttons
from helpdesk.cli import main
from helpdesk.models import InboundMessage, OutboundMessage
from helpdesk.settings import DEV_AUTH_TOKEN, Settings

TEACHER = "+923001234567"
OTHER_TEACHER = "+923007654321"
ROLE = Choices(prompt="What is your role?", options=(Option("1", "Teacher"), Option("2", "Head teacher"),
                                                     Option("3", "Teacher trainer")))


@pytest.fixture
def demo_app(tmp_path, database_url):
    """The app as `helpdesk demo` builds it: the outbox transport, signed with the development token."""
    from helpdesk import create_app

    app = create_app({"demo": True, "data_dir": tmp_path / "service", "database_url": database_url,
                      "knowledge_base_dir": ROOT / "tests" / "fixtures" / "kb", "semantic_matching": False})
    app.extensions["helpdesk"].db.create_all()
    return app


@pytest.fixture
def demo_server(demo_app):
    server = LiveServer(demo_app).start()
    yield server
    server.stop()


def store(app, to: str, body: str, choices: Choices | None = None) -> int:
    with app.extensions["helpdesk"].db.session_scope() as session:
        row = OutboundMessage(to_address=to, channel="whatsapp" if to.startswith("whatsapp:") else "sms",
                              body=body, kind="notice", status="sent", choices=choices and choices.to_json())
        session.add(row)
        session.flush()
        return row.id


def signed_get(client, path: str, token: str):
    return client.get(path, headers={"X-Twilio-Signature": sign("http://localhost" + path, {}, token)})


def outbox_path(**query) -> str:
    return "/dev/outbox" + (f"?{urllib.parse.urlencode(query)}" if query else "")


# --- the endpoint ---------------------------------------------------------------------------------

def test_the_outbox_endpoint_shows_only_the_number_asked_about(demo_app):
    client = demo_app.test_client()
    first = store(demo_app, TEACHER, "old reply")
    store(demo_app, OTHER_TEACHER, "someone else's answer")
    second = store(demo_app, f"whatsapp:{TEACHER}", "1 Teacher 2 Head teacher", ROLE)
    store(demo_app, f"whatsapp:{OTHER_TEACHER}", "someone else's menu")

    answer = signed_get(client, outbox_path(to=TEACHER, after=first), DEV_AUTH_TOKEN)
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["latest_id"] == second
    assert [(m["id"], m["to"], m["choices"]) for m in data["messages"]] == \
        [(second, f"whatsapp:{TEACHER}", ROLE.to_json())]
    everything = signed_get(client, outbox_path(to=f"whatsapp:{TEACHER}"), DEV_AUTH_TOKEN).get_json()
    assert [m["body"] for m in everything["messages"]] == ["old reply", "1 Teacher 2 Head teacher"]
    assert OTHER_TEACHER not in answer.get_data(as_text=True) + str(everything)


def test_the_outbox_endpoint_wants_the_webhook_signature(demo_app):
    client = demo_app.test_client()
    store(demo_app, TEACHER, "private")
    path = outbox_path(to=TEACHER)
    assert client.get(path).status_code == 403
    assert signed_get(client, path, "some-other-token").status_code == 403
    # A signature is for one URL: it does not open another number's messages.
    other = outbox_path(to=OTHER_TEACHER)
    forged = client.get(other, headers={"X-Twilio-Signature": sign("http://localhost" + path, {}, DEV_AUTH_TOKEN)})
    assert forged.status_code == 403


@pytest.mark.parametrize("query", [{}, {"to": "nobody"}, {"to": TEACHER, "after": "-1"},
                                   {"to": TEACHER, "after": "9" * 5000}, {"to": TEACHER, "limit": "x"},
                                   {"to": TEACHER, "limit": "501"}, {"to": TEACHER, "after": "٣"}])
def test_a_bad_outbox_query_gets_a_clear_400(demo_app, query):
    answer = signed_get(demo_app.test_client(), outbox_path(**query), DEV_AUTH_TOKEN)
    assert answer.status_code == 400
    assert answer.get_json()["error"]


def test_a_service_that_sends_through_twilio_has_no_outbox_endpoint(app, client):
    store(app, TEACHER, "sent to a real phone")
    assert signed_get(client, outbox_path(to=TEACHER), AUTH_TOKEN).status_code == 404


# --- chat against a real server -------------------------------------------------------------------

def test_chat_started_in_another_directory_gets_the_replies_of_the_running_service(demo_server, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "HELPDESK_DATA_DIR", "REDIS_URL") and not k.startswith("TWILIO_")}
    env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    chat = subprocess.run(
        [sys.executable, "-m", "helpdesk", "chat", "--url", demo_server.url, "--from", "03001234567", "--wait", "20"],
        input="How do I teach fractions to young children?\n", env=env, cwd=elsewhere, capture_output=True,
        text=True, timeout=120)
    assert chat.returncode == 0, chat.stderr
    replies = [line for line in chat.stdout.splitlines() if line.startswith("< ")]
    assert replies, chat.stdout
    assert "fold paper into halves" in chat.stdout  # the test knowledge base's answer to it
    assert not (elsewhere / "instance").exists()  # it never looked for a database of its own


def test_whatsapp_chat_shows_choices_as_buttons_and_a_typed_title_taps_one(demo_app, demo_server):
    session = ChatSession(Settings(), demo_server.url, TEACHER, whatsapp=True)
    store(demo_app, f"whatsapp:{TEACHER}", "What is your role? Reply 1 Teacher, 2 Head teacher, 3 Teacher trainer",
          ROLE)
    shown = session.show(session.replies(wait=5))
    assert shown == ["What is your role?\n  [1 Teacher] [2 Head teacher] [3 Teacher trainer]"]

    assert session.post(session.form_for("head teacher")) == 200
    assert session.post(session.form_for("3")) == 200
    assert session.post(session.form_for("a teacher")) == 200  # no button is called that: typed text
    rt = demo_app.extensions["helpdesk"]

    def stored():
        with rt.db.session_scope() as db:
            return [(m.body, m.extra.get("ButtonText"), m.extra.get("ButtonPayload"))
                    for m in db.scalars(select(InboundMessage).order_by(InboundMessage.id))]

    wait_until(lambda: len(stored()) == 3, message="the three messages stored")
    assert stored() == [("Head teacher", "Head teacher", "2"), ("Teacher trainer", "Teacher trainer", "3"),
                        ("a teacher", None, None)]


def test_sms_chat_shows_the_numbered_text_and_sends_numbers_as_text(demo_app, demo_server):
    session = ChatSession(Settings(), demo_server.url, TEACHER, whatsapp=False)
    store(demo_app, TEACHER, "What is your role? Reply 1 Teacher, 2 Head teacher", ROLE)
    assert session.show(session.replies(wait=5)) == ["What is your role? Reply 1 Teacher, 2 Head teacher"]
    form = session.form_for("2")
    assert form["Body"] == "2" and "ButtonPayload" not in form


def test_chat_skips_what_was_sent_before_it_started(demo_app, demo_server):
    store(demo_app, TEACHER, "from an earlier conversation")
    session = ChatSession(Settings(), demo_server.url, TEACHER, whatsapp=False)
    store(demo_app, TEACHER, "new")
    assert session.show(session.replies(wait=5)) == ["new"]


def test_buttons_without_a_prompt_are_just_the_row():
    assert buttons(Choices(prompt="", options=(Option("1", "Yes"), Option("2", "No")))) == "[1 Yes] [2 No]"


def test_chat_without_a_running_service_says_so_instead_of_a_traceback():
    result = CliRunner().invoke(main, ["chat", "--url", f"http://127.0.0.1:{free_port()}"], input="hello\n")
    assert result.exit_code == 1
    assert "cannot reach" in result.output and "helpdesk demo" in result.output
    assert "Traceback" not in result.output


def test_chat_at_a_twilio_service_explains_where_the_replies_go(app):
    server = LiveServer(app).start()
    try:
        result = CliRunner().invoke(main, ["chat", "--url", server.url], input="hello\n",
                                    env={"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32})
    finally:
        server.stop()
    assert result.exit_code == 1 and "sends through Twilio" in result.output


def test_outbox_in_a_directory_without_the_service_database_says_where_to_run_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HELPDESK_DATA_DIR", raising=False)
    result = CliRunner().invoke(main, ["outbox", "--json"])
    assert result.exit_code == 1 and "no helpdesk database" in result.output
