"""Storage: the async SQLAlchemy engine, the ORM models and the Alembic migrations."""

from switchboard.storage.database import Database

__all__ = ["Database"]
