"""The parcel example: a touchable state and an event its action emits from code (issue 14)."""
