"""Statewright: statuses of business objects, described in YAML."""
