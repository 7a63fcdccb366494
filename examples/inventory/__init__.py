"""Statecraft's inventory item, moved by the order machine's events."""
