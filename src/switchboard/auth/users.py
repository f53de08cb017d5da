"""Users: registration, credential checks, lookups and search."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from switchboard.auth.passwords import hash_password, verify_password
from switchboard.auth.schemas import UserOut
from switchboard.errors import ConflictError
from switchboard.storage.database import Database
from switchboard.storage.models import User


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name)


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def register(self, email: str, password: str, name: str) -> User:
        user = User(email=email.lower(), name=name, password_hash=await hash_password(password))
        async with self.db.session() as session:
            session.add(user)
            try:
                await session.commit()
            except IntegrityError:
                raise ConflictError("email already registered") from None
        return user

    async def authenticate(self, email: str, password: str) -> User | None:
        async with self.db.session() as session:
            user = await session.scalar(select(User).where(User.email == email.strip().lower()))
        ok = await verify_password(user.password_hash if user else None, password)
        return user if ok and user else None

    async def get(self, user_id: int) -> User | None:
        async with self.db.session() as session:
            return await session.get(User, user_id)

    async def get_many(self, user_ids: Iterable[int]) -> list[User]:
        ids = set(user_ids)
        if not ids:
            return []
        async with self.db.session() as session:
            return list(
                await session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id))
            )

    async def existing_ids(self, user_ids: Iterable[int]) -> set[int]:
        ids = set(user_ids)
        if not ids:
            return set()
        async with self.db.session() as session:
            rows = await session.scalars(select(User.id).where(User.id.in_(ids)))
            return set(rows)

    async def search(self, q: str, limit: int = 20) -> list[User]:
        stmt = select(User).order_by(User.name, User.id).limit(limit)
        if q:
            pattern = _like_pattern(q)
            stmt = stmt.where(
                or_(
                    func.lower(User.name).like(pattern, escape="\\"),
                    func.lower(User.email).like(pattern, escape="\\"),
                )
            )
        async with self.db.session() as session:
            return list(await session.scalars(stmt))
