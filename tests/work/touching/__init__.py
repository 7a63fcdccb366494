"""The parcel app: touchable states and events emitted from actions (issue 14)."""
