"""Two users chat through Switchboard with the Python client.

Run it against a server (`make run` in another shell):

    .venv/bin/python docs/examples/python_client.py http://127.0.0.1:8000
"""

import asyncio
import secrets
import sys

from switchboard.client import Message, SwitchboardClient, TypingEvent


async def main(url: str) -> None:
    suffix = secrets.token_hex(4)  # fresh demo accounts on every run
    ada = SwitchboardClient(
        url, email=f"ada-{suffix}@example.com", password=secrets.token_urlsafe(12)
    )
    bob = SwitchboardClient(
        url, email=f"bob-{suffix}@example.com", password=secrets.token_urlsafe(12)
    )
    await ada.register("Ada")
    await bob.register("Bob")

    got_message = asyncio.Event()

    @bob.on("message:new")
    async def show(message: Message) -> None:
        print(f"bob got: {message.body}")
        got_message.set()

    @bob.on("typing")
    def show_typing(event: TypingEvent) -> None:
        print(f"bob sees user {event.user_id} typing: {event.typing}")

    async with ada, bob:  # logs in if needed, connects /chat and /notifications
        assert bob.user is not None
        conversation = await ada.create_conversation([bob.user.id], title="hello")
        await ada.typing(conversation.id)
        sent = await ada.send_message(conversation.id, "Hi Bob!")
        print(f"ada sent message {sent.id}")
        await asyncio.wait_for(got_message.wait(), timeout=5)

        await bob.mark_read(conversation.id, sent.id)
        online = await ada.query_presence([bob.user.id])
        print(f"bob online: {online[bob.user.id]}")
        page = await bob.list_notifications()
        print(f"bob has {page.unread_count} unread notifications")
        await ada.logout()
        await bob.logout()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"))
