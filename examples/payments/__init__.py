"""A payment that waits for its provider's signed callback (the README's "Receiving callbacks")."""
