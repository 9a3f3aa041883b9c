"""Console users: experts, leads, planners and admins."""
from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk.db import Base
from helpdesk.models.core import utcnow

__all__ = ["User", "ROLES"]

# What each role may see: experts and leads see teachers' numbers (they answer them); planners see
# aggregates only; admins manage users and experts.
ROLES = ("expert", "lead", "planner", "admin")
# NIST SP 800-63B asks for at least 8; 10 keeps a throttled online guesser (20 tries an hour) hopeless.
MIN_PASSWORD_LENGTH = 10


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Console cookies carry the generation they were made under; raising it ends every session of this user.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # The weekly planner digest by email (set on the account page), and the local Monday of the last week
    # it was sent for: the send job claims a week with a conditional UPDATE on it, so a week goes once.
    digest_opt_in: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    digest_week: Mapped[date | None] = mapped_column(Date)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.revoke_sessions()

    def revoke_sessions(self) -> None:
        self.session_generation = (self.session_generation or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles


_dummy_hash: str | None = None


def check_dummy_password(password: str) -> bool:
    """Hash a login password for an email nobody has, at the cost of a real check (and always fail).

    Without it a wrong password for a known email took 84 ms and an unknown email 3 ms, telling a guesser
    which addresses have accounts.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_urlsafe(16))
    check_password_hash(_dummy_hash, password)
    return False
