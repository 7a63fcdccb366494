"""Inbound callbacks: a third party calls back, signed, when its side of an object's work is done.

``verification`` checks a delivery's signature without touching the database.
"""
