"""Exit codes of the ``statewright`` command."""

#: Everything is fine.
EXIT_OK = 0
#: The command ran and found problems (lint diagnostics, a machine with errors).
EXIT_PROBLEMS = 1
#: Wrong usage or an input that cannot be read (a missing path, a bad option, a malformed URL).
EXIT_USAGE = 2
#: Something the command needs is not available (Graphviz's `dot`, a database, its tables, a broker, an extra).
EXIT_UNAVAILABLE = 3
#: ``statewright worker``: one of its worker processes ended without being asked to (killed, crashed); the others
#: were stopped cleanly. Restart the command (see ``engine.cli.process_group``).
EXIT_WORKER_DIED = 4
#: A bug in Statewright: an exception nobody expected (sysexits' EX_SOFTWARE). The traceback is printed.
EXIT_BUG = 70
#: Whoever read standard output stopped reading (``statewright rules | head -1``): 128 + SIGPIPE, as shells report
#: a command a closed pipe ended. Nothing is printed.
EXIT_BROKEN_PIPE = 141
