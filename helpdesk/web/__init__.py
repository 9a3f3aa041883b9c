from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from helpdesk.web import health, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(health.bp)
