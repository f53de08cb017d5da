"""Authentication: users, password hashes, JWTs, and the HTTP routes that issue them."""
