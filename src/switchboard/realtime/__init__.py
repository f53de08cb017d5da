"""Transport: the Socket.IO server, socket auth, presence, emits, rate limits.

Where things happen:
- `auth.py`        a socket is authenticated (cookie, else `auth.token`)
- `namespace.py`   events are validated, rate-limited and answered with acks
- `presence.py`    who is online
- `emitter.py`     every broadcast leaves the process here
- `facade.py`      `Realtime`: emit from anywhere (HTTP routes, jobs, services)
- `_sio_internals.py`  the only place that reaches into python-socketio/engineio
"""

from switchboard.realtime.facade import Realtime

__all__ = ["Realtime"]
