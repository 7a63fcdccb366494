"""``python -m engine`` runs the ``statewright`` command."""

from engine.cli import main

main()
