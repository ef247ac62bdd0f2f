"""Users of the editor and admin tools, and their server-side sessions."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import fields
from tortoise.queryset import QuerySet

from models.base import UUIDModel


class User(UUIDModel):
    username = fields.CharField(max_length=150, unique=True)
    password_hash = fields.CharField(max_length=255)
    is_staff = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    first_name = fields.CharField(max_length=150, default="")
    last_name = fields.CharField(max_length=150, default="")
    email = fields.CharField(max_length=254, default="")
    date_joined = fields.DatetimeField(auto_now_add=True)
    last_login = fields.DatetimeField(null=True)

    class Meta:
        table = "user"


class Session(UUIDModel):
    """Only a digest of the session id is stored, so a leaked table opens no session."""

    token_digest = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    created_date = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "session"

    @classmethod
    def valid(cls) -> QuerySet[Session]:
        """Sessions that still log someone in: not expired, and their user is active."""
        return cls.filter(expires_at__gt=datetime.now(UTC), user__is_active=True)

    def is_valid(self) -> bool:
        """``valid`` for a row read with its user."""
        return self.expires_at > datetime.now(UTC) and self.user.is_active
