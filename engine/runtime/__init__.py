"""Moving one object, durably: the write path, its history, its outbox, and the hooks around it."""
