"""Files Statewright writes for you: a starter project (``statewright init``) and machine skeletons (``new``).

Nothing here overwrites a file: what exists is kept and reported.
"""

from engine.scaffolding.files import Written, write_new
from engine.scaffolding.machines import machine_skeleton
from engine.scaffolding.project import project_files

__all__ = ["Written", "machine_skeleton", "project_files", "write_new"]
