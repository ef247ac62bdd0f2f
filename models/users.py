"""Users of the editor and admin tools, and their server-side sessions."""

from __future__ import annotations

from tortoise import fields

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
