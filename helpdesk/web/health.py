"""Health and metrics endpoints for load balancers and Prometheus."""
from __future__ import annotations

import hmac

from flask import Blueprint, current_app, request
from sqlalchemy import func, select, text

from helpdesk.models import InboundMessage, OutboundMessage

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    rt = current_app.extensions["helpdesk"]
    checks = {"database": "ok", "redis": "not configured"}
    healthy = True
    try:
        with rt.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the point of a health check is to report, not raise
        checks["database"], healthy = f"error: {type(exc).__name__}", False
    if rt.redis is not None:
        try:
            rt.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"], healthy = f"error: {type(exc).__name__}", False
    return {"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503


@bp.get("/metrics")
def metrics():
    rt = current_app.extensions["helpdesk"]
    if rt.settings.metrics_token and not _bearer_matches(rt.settings.metrics_token):
        # Queue depths and message counts tell an outsider how busy the helpdesk is and when.
        return "metrics need a bearer token\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"',
                                                      "Content-Type": "text/plain; charset=utf-8"}
    lines = []
    with rt.db.session_scope() as session:
        inbound = session.execute(select(InboundMessage.status, func.count()).group_by(InboundMessage.status)).all()
        outbound = session.execute(
            select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all()
    lines.append("# TYPE helpdesk_inbound_messages gauge")
    lines += [f'helpdesk_inbound_messages{{status="{s}"}} {n}' for s, n in inbound]
    lines.append("# TYPE helpdesk_outbound_messages gauge")
    lines += [f'helpdesk_outbound_messages{{status="{s}"}} {n}' for s, n in outbound]
    try:
        depth = rt.jobs.depth()
    except Exception:
        depth = {}
    lines.append("# TYPE helpdesk_queue_depth gauge")
    lines += [f'helpdesk_queue_depth{{queue="{q}"}} {n}' for q, n in depth.items()]
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; version=0.0.4"}


def _bearer_matches(token: str) -> bool:
    sent = request.headers.get("Authorization", "")
    return sent.startswith("Bearer ") and hmac.compare_digest(sent[len("Bearer "):].encode(), token.encode())
