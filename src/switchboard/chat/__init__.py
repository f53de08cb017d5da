"""Chat: conversations, stored messages, typing, read receipts, presence events."""
