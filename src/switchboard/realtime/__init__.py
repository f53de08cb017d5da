"""Real-time services on the transport: socket auth, presence, emits, recovery, rate limits.

Where things happen:
- `auth.py`        a socket is authenticated (cookie, else `auth.token`)
- `namespace.py`   events are validated, rate-limited and answered with acks
- `presence.py`    who is online
- `emitter.py`     every broadcast leaves the process here
- `facade.py`      `Realtime`: emit from anywhere (HTTP routes, jobs, services)
- `recovery.py`    connection state recovery: which reconnects are restored, and how
- `server.py`      `RealtimeServer`: wires the transport (`switchboard.transport`) to the above
"""

from switchboard.realtime.facade import Realtime

__all__ = ["Realtime"]
