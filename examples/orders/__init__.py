"""Statecraft's order: paid, then fulfilled once inventory is reserved."""
