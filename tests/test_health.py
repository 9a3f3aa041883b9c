"""/healthz reports the database and Redis; /metrics counts messages and the queue, with no personal data."""
from __future__ import annotations

from support.teachers import Phone


def test_health_is_ok_with_the_database_and_redis_up_and_503_when_redis_is_down(make_app, sqlite_url, redis_server):
    redis_server.flushall()
    client = make_app(sqlite_url, redis_url=redis_server.url).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}
    redis_server.stop()
    try:
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json["checks"]["redis"].startswith("error")
    finally:
        redis_server.restart()


def test_metrics_count_messages_by_status_without_phone_numbers(app, rt):
    client = app.test_client()
    Phone(client, "+923001234567").send("How do I quieten a noisy class?")
    assert rt.jobs.drain()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'helpdesk_inbound_messages{status="done"} 1' in text
    assert 'helpdesk_outbound_messages{status="accepted"}' in text
    assert "helpdesk_queue_depth" in text
    assert "923001234567" not in text
