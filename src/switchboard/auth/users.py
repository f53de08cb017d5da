"""Users: registration, credential checks, lookups and search; host users by their host id.

With host-token trust (docs/host-auth.md) every user is keyed by the host's id
(`users.external_id`); Switchboard keeps its own integer id, which is what the
contract's payloads carry. A host id seen for the first time gets a row; when
the host passed a `UserDirectory`, it is asked instead of the claims.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from switchboard.auth.directory import DirectoryUser, UserDirectory
from switchboard.auth.passwords import hash_password, verify_password
from switchboard.auth.schemas import UserOut
from switchboard.errors import ConflictError, InvalidTokenError
from switchboard.storage.database import Database
from switchboard.storage.models import User

log = logging.getLogger("switchboard.auth")

# Host users have no Switchboard email; the column is unique and required, so
# each gets a reserved, undeliverable one (RFC 2606 `.invalid`), never shown.
HOST_EMAIL_DOMAIN = "host-users.invalid"
# A host user cannot log in with a password: this is no argon2 hash.
NO_PASSWORD = "!"  # noqa: S105 - a marker, not a secret
_ID_CACHE_SIZE = 100_000
MAX_NAME_CHARS = 100


def user_out(user: User) -> UserOut:
    if user.external_id is not None:
        return UserOut(id=user.id, email="", name=user.name, external_id=user.external_id)
    return UserOut(id=user.id, email=user.email, name=user.name)


def _bounded_name(name: str | None, external_id: str) -> str:
    return ((name or "").strip() or external_id)[:MAX_NAME_CHARS]


def host_email(external_id: str) -> str:
    return hashlib.sha256(external_id.encode()).hexdigest()[:40] + "@" + HOST_EMAIL_DOMAIN


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


class UserService:
    def __init__(self, db: Database, directory: UserDirectory | None = None) -> None:
        self.db = db
        # The host's directory; None: Switchboard's own table is the directory.
        self.directory = directory
        # Host id -> (Switchboard id, name as stored), per node; rows are never re-keyed.
        self._by_external: dict[str, tuple[int, str]] = {}

    # -- host users ----------------------------------------------------------------

    async def resolve_external(self, external_id: str, name: str | None) -> int:
        """Switchboard's id for a host user, creating the row the first time.

        `name` comes from the token's claims (None: the claims name nobody).
        Without a host directory it names a new user, and a later token with
        another name renames it (the host is where names change). With a
        directory, its `lookup` names a new user or refuses it
        (InvalidTokenError). Safe when several processes see a new id at once.
        """
        known = self._by_external.get(external_id)
        if known is None:
            async with self.db.session() as session:
                row = (
                    await session.execute(
                        select(User.id, User.name).where(User.external_id == external_id)
                    )
                ).first()
            if row is not None:
                known = (row[0], row[1])
            else:
                if self.directory is not None:
                    entry = await self._lookup(self.directory, external_id)
                    if entry is None:
                        raise InvalidTokenError("unknown user")
                    name = entry.name
                fresh = _bounded_name(name, external_id)
                known = (await self._create_external(external_id, fresh), fresh)
            if len(self._by_external) >= _ID_CACHE_SIZE:
                self._by_external.clear()
            self._by_external[external_id] = known
        user_id, current = known
        if self.directory is None and name is not None:
            wanted = _bounded_name(name, external_id)
            if wanted != current:
                await self._rename(user_id, wanted)
                self._by_external[external_id] = (user_id, wanted)
        return user_id

    async def _rename(self, user_id: int, name: str) -> None:
        async with self.db.write_session() as session:
            await session.execute(update(User).where(User.id == user_id).values(name=name))
            await session.commit()

    @staticmethod
    async def _lookup(directory: UserDirectory, external_id: str) -> DirectoryUser | None:
        try:
            return await directory.lookup(external_id)
        except Exception:
            # The host's code failed: this caller is refused, the server stays up.
            log.exception("UserDirectory.lookup failed; refusing the caller")
            raise InvalidTokenError() from None

    async def _create_external(self, external_id: str, name: str) -> int:
        user = User(
            email=host_email(external_id),
            name=name,
            password_hash=NO_PASSWORD,
            external_id=external_id,
        )
        async with self.db.write_session() as session:
            session.add(user)
            try:
                await session.commit()
                log.info("host user created", extra={"user_id": user.id})
                return user.id
            except IntegrityError:
                await session.rollback()
        # Another request or node created it between our read and our insert.
        async with self.db.session() as session:
            found = await session.scalar(select(User.id).where(User.external_id == external_id))
        if found is None:  # its row was deleted in between: refuse this once
            raise InvalidTokenError("could not create the host user")
        return found

    async def search_directory(self, q: str, limit: int) -> list[User]:
        """The host directory's search, as Switchboard users (rows created as needed)."""
        assert self.directory is not None
        try:
            found = (await self.directory.search(q, limit))[:limit]
        except Exception:
            log.exception("UserDirectory.search failed; answering no users")
            return []
        ids = [await self.resolve_external(u.external_id, u.name) for u in found]
        by_id = {u.id: u for u in await self.get_many(ids)}
        return [by_id[i] for i in ids if i in by_id]

    async def refused_recipients(self, sender_id: int, recipient_ids: Iterable[int]) -> list[int]:
        """The recipients the host directory says `sender_id` may not message.

        Without a host directory nobody is refused; users without a host id
        (registered with Switchboard itself) are not asked about.
        """
        directory = self.directory
        others = set(recipient_ids) - {sender_id}
        if directory is None or not others:
            return []
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(User.id, User.external_id).where(User.id.in_({sender_id, *others}))
                )
            ).all()
        external = {uid: ext for uid, ext in rows if ext is not None}
        sender = external.get(sender_id)
        if sender is None:
            return []
        refused = []
        for uid in sorted(others):
            if uid not in external:
                continue
            try:
                allowed = await directory.may_message(sender, external[uid])
            except Exception:
                # Unknown is not yes: the conversation is refused, the failure logged.
                log.exception("UserDirectory.may_message failed; refusing")
                allowed = False
            if not allowed:
                refused.append(uid)
        return refused

    async def register(self, email: str, password: str, name: str) -> User:
        user = User(email=email.lower(), name=name, password_hash=await hash_password(password))
        async with self.db.write_session() as session:
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
                    # A host user's stored email is a placeholder: not searchable.
                    (func.lower(User.email).like(pattern, escape="\\"))
                    & User.external_id.is_(None),
                )
            )
        async with self.db.session() as session:
            return list(await session.scalars(stmt))
