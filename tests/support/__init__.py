"""Test helpers: real servers on free ports, real clients. Reusable by every test module."""
