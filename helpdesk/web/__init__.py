from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from helpdesk.web import auth, dev_outbox, health, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(health.bp)
    dev_outbox.register(app)  # only on the outbox transport: what `helpdesk chat` reads
    auth.init_app(app)
    # Each console area adds itself: (endpoint, label, roles) for the menu, (endpoint, roles) for home.
    app.config.setdefault("NAV_LINKS", [])
    app.config.setdefault("HOME_PAGES", [])
    for register in _console_areas():
        register(app)


def _console_areas():
    """Console areas register their blueprint and menu entries. Listed here so there is one place to look."""
    from helpdesk.web import (admin, certificates, console, experts_admin, planner, programme, reflections,
                              suggestions)

    # Order matters for HOME_PAGES: a role lands on the first page registered for it.
    return [admin.register, console.register, experts_admin.register, planner.register, certificates.register,
            reflections.register, programme.register, suggestions.register]
