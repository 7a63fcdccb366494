"""Exit codes of the ``statewright`` command."""

#: Everything is fine.
EXIT_OK = 0
#: The command ran and found problems (lint diagnostics, a machine with errors).
EXIT_PROBLEMS = 1
#: Wrong usage or an input that cannot be read (a missing path, a bad option).
EXIT_USAGE = 2
#: Something the command needs is not available (Graphviz's `dot`, a database, a broker).
EXIT_UNAVAILABLE = 3
