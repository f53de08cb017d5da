"""Django settings of the example shop: no database of its own, one middleware, async views."""

from __future__ import annotations

import os
import secrets

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(48)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
MIDDLEWARE = ["shop.middleware.TagResponses"]
USE_TZ = True
# Request bodies the host reads are bounded (Django refuses bigger ones with 400).
DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
