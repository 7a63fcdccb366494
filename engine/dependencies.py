"""Optional packages: which extra installs each, and the error that tells a user so.

Statewright's core installs nothing for PostgreSQL, Redis, RabbitMQ, S3 or the admin page (the core has
Starlette and uvicorn, for the callbacks receiver); each is an
extra (``pip install 'statewright[admin]'``). When one is missing, the user should read that command,
not a ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

from engine.errors import MissingDependency

#: Top-level module of an optional dependency → the Statewright extra that installs it.
EXTRA_OF_MODULE = {
    "psycopg": "postgres",
    "redis": "redis",
    "pika": "rabbitmq",
    "boto3": "s3",
    "botocore": "s3",
    "jinja2": "admin",
    "pygal": "admin",
    "itsdangerous": "admin",
    "multipart": "admin",
    "python_multipart": "admin",
    "sse_starlette": "admin",
}

#: Fixes for modules no extra installs.
_OTHER_FIXES = {
    "psycopg2": "use a postgresql+psycopg:// URL (its driver comes with `pip install 'statewright[postgres]'`), "
    "or `pip install psycopg2-binary`",
}


def missing_dependency(missing: ImportError, purpose: str) -> MissingDependency:
    """The error for an optional package that did not import.

    Args:
        missing: The import error (its ``name`` is the module that was not found).
        purpose: What needed it, e.g. ``"The admin page"``.

    Returns:
        A ``MissingDependency`` naming the ``pip install`` that fixes it.
    """
    if isinstance(missing, MissingDependency):
        return missing
    if missing.name is None and isinstance(missing.__cause__, ImportError):
        missing = missing.__cause__  # a wrapper that only added a message; the cause names the module
    module = (missing.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if module in _OTHER_FIXES:
        fix = _OTHER_FIXES[module]
    elif extra is not None:
        fix = f"install it with `pip install 'statewright[{extra}]'`"
    elif module:
        fix = "install the package that provides it"
    else:
        fix = "install the missing package"
    error = MissingDependency(f"{purpose} needs the Python module {module or '?'!r}, which is not installed: {fix}.")
    error.name = missing.name
    return error
