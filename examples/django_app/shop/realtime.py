"""Switchboard, built once per process; `asgi.py` mounts it, views emit through it."""

from __future__ import annotations

from switchboard import create_app

switchboard_app = create_app(web_page=False)
