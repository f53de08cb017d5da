"""Request and response bodies of the auth routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    # The host app's id of this user (host mode, docs/host-auth.md); null for
    # users who registered with Switchboard itself.
    external_id: str | None = None


class RegisterIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=8, max_length=256)
    name: str = Field(min_length=1, max_length=100)

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=256)


class AuthOut(BaseModel):
    user: UserOut
    token: str


class MeOut(BaseModel):
    user: UserOut


class UsersOut(BaseModel):
    users: list[UserOut]
