"""Switchboard mounted on an existing ASGI app (FastAPI, Starlette, Django): docs/embedding.md."""

from switchboard.embed.app import EmbeddedApp, mount

__all__ = ["EmbeddedApp", "mount"]
