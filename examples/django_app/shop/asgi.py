"""The ASGI application: Django, with Switchboard mounted in front of it.

uvicorn shop.asgi:application --http switchboard.transport.front:HttpProtocol \
    --ws switchboard.transport.fastws:WebSocketProtocol
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from shop.realtime import switchboard_app
from switchboard import mount

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

application = mount(get_asgi_application(), prefix="/switchboard", switchboard=switchboard_app)
