"""A small support-ticket app used by the runtime tests: its guards and actions can be told to fail."""
