"""The admin's expert form starts from the current profile (hours, days, subjects, time zone), so saving it
after one change keeps everything else; on both databases."""
from __future__ import annotations

import re

from sqlalchemy import select

from conftest import login
from helpdesk.models.tickets import Expert
from support.experts import add_expert

PHONE = "+923110000001"


def test_updating_an_expert_keeps_the_rest_of_their_profile(client, rt, make_user, twilio_api):
    expert = add_expert(rt, PHONE, ["maths", "science"], name="Ayesha", start="14:00", end="20:30",
                        days=[0, 2, 4], timezone="Asia/Dubai", grade_bands=["primary"], languages=["ur"],
                        capacity=7)
    email, password = make_user("admin")
    login(client, email, password)
    with rt.db.session_scope() as session:
        user_id = session.get(Expert, expert["id"]).user_id

    page = client.get(f"/admin/experts/?user_id={user_id}").get_data(as_text=True)
    assert "Update Ayesha" in page and f'<option value="{user_id}" selected>' in page
    form = re.search(r'<form method="post" class="stack" id="expert-form">(.*?)</form>', page, re.S).group(1)
    # Submit the form exactly as the browser would, changing only the capacity.
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = (re.search(r'value="([^"]*)"', tag) or [None, "on"])[1]
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue
        data.setdefault(name, []).append(value)
    for select_html in re.findall(r'<select name="([^"]+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)', select_html[1])
        data[select_html[0]] = [chosen.group(1) if chosen.group(1) is not None else chosen.group(2)]
    data["capacity"] = ["3"]
    saved = client.post("/admin/experts/", data=data, follow_redirects=True)
    assert "Saved expert profile for Ayesha" in saved.get_data(as_text=True)

    with rt.db.session_scope() as session:
        row = session.scalars(select(Expert)).one()
        assert row.capacity == 3
        assert (row.subjects, row.grade_bands, row.languages) == (["maths", "science"], ["primary"], ["ur"])
        hours = (row.work_start_minute, row.work_end_minute, row.work_days)
        assert hours == (14 * 60, 20 * 60 + 30, [0, 2, 4])
        assert (row.timezone, row.phone, row.channel, row.active) == ("Asia/Dubai", PHONE, "sms", True)


def test_a_bad_time_zone_is_named_not_a_500(client, rt, make_user, twilio_api):
    expert = add_expert(rt, PHONE, ["maths"], name="Ayesha")
    email, password = make_user("admin")
    login(client, email, password)
    with rt.db.session_scope() as session:
        user_id = session.get(Expert, expert["id"]).user_id
    page = client.get("/admin/experts/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/admin/experts/", follow_redirects=True, data={
        "csrf_token": token, "user_id": user_id, "phone": PHONE, "subjects": "maths",
        "timezone": "Mars/Base"})
    assert response.status_code == 200 and "unknown time zone" in response.get_data(as_text=True)
