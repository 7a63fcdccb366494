"""What ``statewright demo`` runs, shipped in the package so the demo works wherever Statewright is installed.

``document.yaml`` is ``machines/document.yaml`` of the repository with its dotted paths pointing here, and
``models``/``work`` are ``examples/documents``' (``tests/test_packaged_demo.py`` keeps them the same).
"""

from importlib.resources import files
from pathlib import Path

#: The demo's machine file, inside the installed package.
DEMO_MACHINE = Path(str(files(__name__) / "document.yaml"))
