"""Voice notes and pictures on the ticket page, through the console's authenticated proxy of Twilio's media
URLs: fetched with the account's Basic auth from the fake Twilio, only for a ticket the user may see, and only
from Twilio's media host (no open proxy). Both databases."""
from __future__ import annotations

import pytest

from conftest import login
from helpdesk.channels import twilio
from support.experts import add_expert
from support.experts import ticket_with_media as with_media

TEACHER = "+923001234567"
MATHS, SCIENCE = "+923110000001", "+923110000003"
VOICE = b"OggS\x00\x02fake-opus-bytes\xff\xfe"
PICTURE = b"\x89PNG\r\n\x1a\nnot-really-a-png"


def ticket_with_media(rt, twilio_api, urls=None):
    """A maths ticket whose teacher sent a voice note and a picture with the question."""
    message = "MM" + "1" * 32
    urls = urls or [(twilio_api.add_media(message, "ME" + "1" * 32, VOICE, "audio/ogg"), "audio/ogg"),
                    (twilio_api.add_media(message, "ME" + "2" * 32, PICTURE, "image/png"), "image/png")]
    question = "Please listen, my class is noisy\n[voice note: %s]" % urls[0][0]
    return with_media(rt, TEACHER, question, urls, subjects="maths")


def test_the_assigned_expert_hears_and_sees_the_teachers_media(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    ticket_id, inbound_id = ticket_with_media(rt, twilio_api)
    login(client, maths["email"], maths["password"])

    html = client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)
    voice_src = f"/console/tickets/{ticket_id}/media/{inbound_id}/0"
    assert f'<audio controls preload="none" src="{voice_src}"' in html
    assert f'<img src="/console/tickets/{ticket_id}/media/{inbound_id}/1"' in html
    assert "[voice note:" not in html and "api.twilio.com" not in html  # players, not raw links

    voice = client.get(voice_src)
    assert voice.status_code == 200 and voice.data == VOICE
    assert voice.content_type == "audio/ogg" and voice.headers["X-Content-Type-Options"] == "nosniff"
    picture = client.get(f"/console/tickets/{ticket_id}/media/{inbound_id}/1")
    assert picture.data == PICTURE and picture.content_type == "image/png"
    fetched = [r for r in twilio_api.requests if "/Media/" in r["path"]]
    assert len(fetched) == 2 and all(r["auth_ok"] for r in fetched)  # Basic auth with the account's token


def test_media_of_another_experts_ticket_or_a_stranger_is_refused(client, rt, twilio_api):
    add_expert(rt, MATHS, ["maths"], name="Ayesha")
    science = add_expert(rt, SCIENCE, ["science"], name="Bilal")
    ticket_id, inbound_id = ticket_with_media(rt, twilio_api)
    src = f"/console/tickets/{ticket_id}/media/{inbound_id}/0"

    anonymous = client.get(src)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    login(client, science["email"], science["password"])
    refused = client.get(src)
    assert refused.status_code == 403 and VOICE not in refused.data
    assert "is not in your list" in refused.get_data(as_text=True)
    assert client.get(f"/console/tickets/{ticket_id}/media/{inbound_id}/7").status_code == 403
    assert not [r for r in twilio_api.requests if "/Media/" in r["path"]]


def test_an_unknown_attachment_is_a_404(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    ticket_id, inbound_id = ticket_with_media(rt, twilio_api)
    login(client, maths["email"], maths["password"])
    assert client.get(f"/console/tickets/{ticket_id}/media/{inbound_id}/9").status_code == 404
    assert client.get(f"/console/tickets/{ticket_id}/media/{inbound_id + 99}/0").status_code == 404


def test_a_url_off_twilios_media_host_is_never_fetched(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    hostile = [("http://169.254.169.254/latest/meta-data/", "image/png"),
               ("https://api.twilio.com.evil.example/x", "audio/ogg")]
    ticket_id, inbound_id = ticket_with_media(rt, twilio_api, urls=hostile)
    login(client, maths["email"], maths["password"])
    for index in (0, 1):
        response = client.get(f"/console/tickets/{ticket_id}/media/{inbound_id}/{index}")
        assert response.status_code == 400 and "cannot be shown" in response.get_data(as_text=True)
    assert not [r for r in twilio_api.requests if "/Media/" in r["path"] or "meta-data" in r["path"]]


@pytest.mark.parametrize("url, allowed", [
    ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", True),
    ("http://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", False),
    ("https://api.twilio.com:8443/x", False),
    ("https://media.example.org/x", False),
    ("https://user@api.twilio.com.attacker.net/x", False),
    ("", False),
])
def test_only_twilios_media_host_is_allowed(url, allowed):
    assert twilio.media_url_allowed(url) is allowed


def test_a_file_over_the_limit_is_refused(twilio_api):
    url = twilio_api.add_media("MM" + "3" * 32, "ME" + "3" * 32, b"x" * 2048, "audio/ogg")
    with pytest.raises(twilio.MediaError) as raised:
        twilio.fetch_media(url, account_sid=twilio_api.account_sid, auth_token=twilio_api.auth_token,
                           api_base_url=twilio_api.base_url, max_bytes=1024)
    assert raised.value.status == 413
    with pytest.raises(twilio.MediaError) as wrong_token:
        twilio.fetch_media(url, account_sid=twilio_api.account_sid, auth_token="wrong",
                           api_base_url=twilio_api.base_url)
    assert wrong_token.value.status == 502
