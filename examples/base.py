"""The declarative base the example models share."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Base class of every example model."""
