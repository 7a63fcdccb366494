"""Example apps for the shipped machines in ``machines/``: models and the callables the machines name."""
