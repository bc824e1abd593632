"""Tables of signing in: API tokens, bearer and console sessions, and the counts of failed sign-ins."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ingest.db import Base, utcnow

if TYPE_CHECKING:  # the mapper finds User by name; a real import would be a cycle (models imports this module)
    from ingest.models import User


class ApiToken(Base):
    """A long-lived, named, revocable bearer token for a tool (pyodk, Power BI) acting as its user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: sha256 of the token; the token itself is shown once, when it is made.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class SignInLimit(Base):
    """The failed sign-ins counted for one key (an account, an address or a known browser), and how long
    its next password must wait. Counted by single atomic statements (ingest.accounts.signin.reserve_sign_in)."""

    __tablename__ = "sign_in_limits"

    #: "account:" + sha256 of the lower-cased email, "address:" + IP, or "device:" + a device cookie's nonce.
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: Failures in a row (an attempt is counted when it starts, and given back when it succeeds).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: When the last attempt started; failures older than SIGNIN_WINDOW_MINUTES are forgotten.
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: No password is checked for this key before this moment (NULL: under the limit).
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A bearer token issued by POST /v1/sessions."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of the bearer token: a stolen database does not yield live sessions.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: "api": a bearer token (POST /v1/sessions); "console": the id in a console cookie, never a bearer token.
    kind: Mapped[str] = mapped_column(String(16), default="api", server_default="api")

    user: Mapped[User] = relationship()
