"""`AsyncClosing`: `async with` for the clients whose only clean-up is `aclose()`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class AsyncClosing(ABC):
    """`async with client:` closes the client on the way out, whatever happened inside."""

    @abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
