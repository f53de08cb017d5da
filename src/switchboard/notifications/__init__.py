"""Notifications: stored, pushed to `user:{id}`, counted, scheduled."""
