"""Teacher hubs end to end on SQLite and PostgreSQL: a lead creates hubs, teachers join with HUB in three
languages (choices when their district has several), a meeting is announced to the members through the bulk
lane and confirmed by number, by tap and by words; the planner sees only k-suppressed challenges; the
coordinator's monthly digest goes once a month."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from helpdesk.models import OutboundMessage, Teacher, utcnow
from helpdesk.models.programme import Hub, HubMeetingReply, HubMember
from helpdesk.programme import service
from programme_support import add_teacher, asked, csrf, latest_menu_sid, lead_client, say, sent_to
from support.teachers import Phone
from workers.programme_jobs import send_hub_digests

TZ = ZoneInfo("Asia/Karachi")
COORDINATOR = "+923001239000"


def create_hub(client, **fields):
    form = dict(csrf_token=csrf(client, "/console/hubs"), name="Hub", district="Multan", tehsil="", markaz="",
                coordinator_phone=COORDINATOR)
    form.update(fields)
    return client.post("/console/hubs", data=form, follow_redirects=True)


def test_teachers_join_a_hub_and_confirm_a_meeting(app, rt, make_user, twilio_api):
    lead = lead_client(app, make_user)
    assert "Hub created" in create_hub(lead, name="Multan City Hub", markaz="Gulgasht").get_data(as_text=True)
    create_hub(lead, name="Shujabad Hub", tehsil="Shujabad")
    create_hub(lead, name="Lahore Cantt Hub", district="lahore")
    assert "unknown district" in create_hub(lead, name="X", district="Atlantis").get_data(as_text=True)
    assert "international format" in create_hub(lead, name="X", coordinator_phone="123").get_data(as_text=True)

    now = utcnow()
    numbers = {"roman-ur": "+923001238001", "en": "+923001238002", "ur": "+923331238003"}
    add_teacher(rt, numbers["roman-ur"], language="roman-ur", language_chosen=True, district="Multan")
    add_teacher(rt, numbers["en"], language="en", district="Lahore")
    add_teacher(rt, numbers["ur"], language="ur", language_chosen=True, district="Multan", channel="whatsapp",
                last_whatsapp_inbound_at=now - timedelta(hours=1))
    add_teacher(rt, COORDINATOR, language="en", district="Multan")
    roman, english = Phone(app.test_client(), numbers["roman-ur"]), Phone(app.test_client(), numbers["en"])
    urdu = Phone(app.test_client(), numbers["ur"], whatsapp=True)

    menu = say(rt, twilio_api, roman, "hub")                     # two hubs in Multan: a choice
    assert "Multan ke teacher hub" in menu and "1 Multan City Hub, Gulgasht" in menu
    assert "Shujabad Hub" in menu and "Lahore" not in menu
    assert "Multan City Hub mein shamil ho gaye" in say(rt, twilio_api, roman, "1")
    assert "You joined Lahore Cantt Hub" in say(rt, twilio_api, english, "HUB")   # one hub: joined at once
    say(rt, twilio_api, urdu, "ہب")
    tapped = say(rt, twilio_api, urdu, "Multan City Hub", ButtonPayload="1",
                 OriginalRepliedMessageSid=latest_menu_sid(rt, urdu))
    assert "آپ Multan City Hub میں شامل ہو گئے" in tapped
    nobody = Phone(app.test_client(), "+923001238009")
    add_teacher(rt, nobody.phone, district=None)
    assert "send PROFILE" in say(rt, twilio_api, nobody, "hub")

    with rt.db.session_scope() as session:
        multan = session.scalars(select(Hub).where(Hub.name == "Multan City Hub")).one()
        assert len(session.scalars(select(HubMember).where(HubMember.hub_id == multan.id)).all()) == 2
        hub_id = multan.id

    # The lead announces a meeting; members get it (bulk lane) in their language, with two answers.
    day = datetime.now(TZ).date() + timedelta(days=5)
    before = len(twilio_api.messages)
    response = lead.post(f"/console/hubs/{hub_id}/meetings", follow_redirects=True, data=dict(
        csrf_token=csrf(lead, "/console/hubs"), starts=f"{day.isoformat()}T15:30", place="GHS Gulgasht",
        topic="Group work in large classes"))
    assert "Meeting announced" in response.get_data(as_text=True)
    rt.jobs.drain()
    announced = twilio_api.messages[before:]
    assert {m["To"] for m in announced} == {numbers["roman-ur"], f"whatsapp:{numbers['ur']}"}
    roman_text = sent_to(twilio_api, numbers["roman-ur"])[-1]
    assert "Group work in large classes" in roman_text and "GHS Gulgasht" in roman_text
    assert "1 Ji, main aaunga/aaungi" in roman_text and "3:30" in roman_text
    with rt.db.session_scope() as session:
        rows = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "announcement")).all()
        assert rows and {row.lane for row in rows} == {"bulk"}

    assert "Shukriya, meeting mein mulaqat hogi" in say(rt, twilio_api, roman, "1")
    assert "بتانے کا شکریہ" in say(rt, twilio_api, urdu, "نہیں آ سکتا/سکتی", ButtonPayload="2",
                                     OriginalRepliedMessageSid=latest_menu_sid(rt, urdu))
    with rt.db.session_scope() as session:
        replies = {session.get(Teacher, r.teacher_id).phone: r.coming for r in session.scalars(select(HubMeetingReply))}
    assert replies == {numbers["roman-ur"]: True, numbers["ur"]: False}

    bad = lead.post(f"/console/hubs/{hub_id}/meetings", follow_redirects=True, data=dict(
        csrf_token=csrf(lead, "/console/hubs"), starts="2001-01-01T10:00", place="x", topic="y"))
    assert "must be in the future" in bad.get_data(as_text=True)
    assert lead.post("/console/hubs/999/meetings", data=dict(csrf_token=csrf(lead, "/console/hubs"), starts="x",
                                                             place="p", topic="t")).status_code == 404


def test_planner_sees_hub_challenges_only_above_k_and_the_digest_goes_monthly(make_app, database_url, make_user,
                                                                               twilio_api):
    from conftest import login

    app = make_app(database_url, report_min_teachers=3)
    rt = app.extensions["helpdesk"]
    now = utcnow()
    with rt.db.session_scope() as session:
        hub = service.save_hub(session, name="Gulgasht Hub", district="Multan", coordinator_phone=COORDINATOR,
                               now=now - timedelta(days=40))
        hub_id = hub.id
    add_teacher(rt, COORDINATOR, language="en")
    for n in range(4):
        phone = f"+92300123700{n}"
        teacher_id = add_teacher(rt, phone, district="Multan")
        with rt.db.session_scope() as session:
            service.join_hub(session, session.get(Teacher, teacher_id), hub_id, now)
        asked(rt, phone, "classroom-management", "Multan")       # 4 members: shown
        if n < 2:
            asked(rt, phone, "literacy", "Multan")               # 2 members: under k, never shown

    planner = app.test_client()
    login(planner, *make_user("planner"))
    page = planner.get("/console/programme").get_data(as_text=True)
    assert "Gulgasht Hub" in page and "Classroom management (4)" in page
    assert "Literacy" not in page

    # The digest: once in a new local month, about the month before; the 1st's second run sends nothing.
    first = datetime.now(TZ).replace(day=1, hour=8, minute=0, second=0, microsecond=0) + timedelta(days=32)
    first = first.replace(day=1).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    before = len(twilio_api.messages)
    assert send_hub_digests(first.isoformat()) == 1
    assert send_hub_digests((first + timedelta(days=1)).isoformat()) == 0
    rt.jobs.drain()
    (digest,) = twilio_api.messages[before:]
    assert digest["To"] == COORDINATOR
    assert "Gulgasht Hub" in digest["Body"] and "Members: 4" in digest["Body"]
    assert "Classroom management" in digest["Body"] and "Literacy" not in digest["Body"]
