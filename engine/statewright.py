"""``Statewright``: the one object an app creates. It loads the machines, binds their models and holds the database."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from engine.compiler import compile_machine
from engine.connections import ConnectionSettings
from engine.db import DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL  # re-exported: its old home
from engine.db import make_engine
from engine.errors import ConfigurationError, DefinitionError
from engine.log_redaction import install_log_redaction
from engine.machine import CompiledMachine
from engine.redaction import Redactor
from engine.runtime.binding import bind_flow, flow_of
from engine.runtime.changes import StatusChange
from engine.runtime.flow import Flow
from engine.runtime.hooks import Hook
from engine.runtime.outbox import plan_emits, plan_outbox
from engine.settings import DEFAULT_BROKER_URL as DEFAULT_BROKER_URL  # re-exported: its old home
from engine.settings import Settings
from engine.spec.loader import duplicate_definitions, load_specs
from engine.spec.model import MachineSpec
from engine.work.actors import Work
from engine.work.bodies import BodyLimits
from engine.work.brokers import build_broker
from engine.work.endpoints import HttpSettings, check_base_url
from engine.work.handlers import WorkTable
from engine.work.resends import checked_resend_after, resend_stalled

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from engine.archive import Archiver, ArchiveSettings


class Statewright:
    """Load machines, bind their models, and move objects.

    Every argument left out (or ``None``) is taken from ``settings``, by default ``Settings.from_env()``: the
    ``STATEWRIGHT_*`` variables, else the defaults (see ``engine.settings`` and the README's "Configuration").

    Args:
        specs: The machines, e.g. from ``load_specs``.
        database_url: SQLAlchemy URL; a SQLite file in the working directory by default.
        engine: An engine to use instead of creating one from ``database_url``.
        broker_url: Where background work goes (used by the worker side); ``memory://`` by default.
        hooks: Extra hooks around every status change.
        http_base_url: Joined to endpoint URLs that are paths (``/documents/{model.id}``).
        http_transport: An httpx transport for endpoint calls (tests pass ``httpx.MockTransport``).
        archive_settings: Where ``app.archiver`` writes payload archives (default: from the environment).
        archive: Deprecated name of ``archive_settings``.
        resend_after: How long task and endpoint work may wait, its object still in the triggering state,
            before ``resend_stalled`` sends it again (default: ``$STATEWRIGHT_RESEND_AFTER``, else 10 minutes).
        max_stored_body: Bytes of an endpoint's request or response body kept in the history
            (default: ``$STATEWRIGHT_MAX_STORED_BODY``, else 65,536); longer bodies are cut.
        max_response_body: Bytes of a response read before the call fails with ``ResponseTooLarge``
            (default: ``$STATEWRIGHT_MAX_RESPONSE_BODY``, else 10 MiB).
        settings: The configuration the arguments above override (default: ``Settings.from_env()``).

    Raises:
        DefinitionError: A machine names something that does not import, two share a name, or two drive
            the same model's status column.
        ConfigurationError: ``database_url``, ``broker_url`` or ``http_base_url`` is malformed, or a body limit
            is not a positive number of bytes, or a ``STATEWRIGHT_*`` variable's value cannot be used.
        MissingDependency: The database's driver or the broker's client is not installed.
    """

    def __init__(
        self,
        specs: Sequence[MachineSpec] | Mapping[str, MachineSpec],
        *,
        database_url: str | None = None,
        engine: Engine | None = None,
        broker_url: str | None = None,
        hooks: Sequence[Hook] = (),
        http_base_url: str | None = None,
        http_transport: httpx.BaseTransport | None = None,
        archive_settings: ArchiveSettings | None = None,
        resend_after: timedelta | None = None,
        max_stored_body: int | None = None,
        max_response_body: int | None = None,
        settings: Settings | None = None,
        archive: ArchiveSettings | None = None,
    ) -> None:
        if archive is not None:
            _deprecated("Statewright(archive=...)", "Statewright(archive_settings=...)")
            archive_settings = archive_settings or archive
        spec_list = list(specs.values()) if isinstance(specs, Mapping) else list(specs)
        #: What this app runs with: the arguments given, over ``settings`` (or the environment's).
        self.settings = (Settings.from_env() if settings is None else settings).given(
            database_url=database_url, broker_url=broker_url, http_base_url=http_base_url
        )
        broker_url, http_base_url = self.settings.broker_url, self.settings.http_base_url
        if http_base_url is not None:
            check_base_url(http_base_url)
        duplicates = duplicate_definitions(spec_list)
        if duplicates:
            raise DefinitionError(duplicates)
        self.engine = engine or make_engine(
            self.settings.database_url, connections=ConnectionSettings.for_apps(self.settings)
        )
        self.broker_url = broker_url
        #: Where ``app.archiver`` writes; ``None``: from the environment.
        self.archive_settings = archive_settings
        self.resend_after = self.settings.resend_after if resend_after is None else checked_resend_after(resend_after)
        self._archiver: Archiver | None = None
        #: Makes sessions on the app's engine: ``with app.sessionmaker() as session:``.
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.machines: dict[str, CompiledMachine] = {spec.name: compile_machine(spec) for spec in spec_list}
        self.body_limits = BodyLimits.resolve(
            max_stored_body=self.settings.max_stored_body if max_stored_body is None else max_stored_body,
            max_response_body=self.settings.max_response_body if max_response_body is None else max_response_body,
        )
        #: One set of masking rules for everything stored, logged or shown: the defaults and every ``redact`` key.
        self.redactor = Redactor.with_keys(
            [key for spec in spec_list for endpoint in spec.endpoints.values() for key in endpoint.redact]
            + [key for spec in spec_list for callback in spec.callbacks.values() for key in callback.redact]
        )
        self.broker = build_broker(broker_url)
        self.flows: dict[str, Flow] = {}  # filled below, once the relay exists: Work reads it as it runs
        http = HttpSettings(base_url=http_base_url, transport=http_transport, limits=self.body_limits)
        self.work = Work(
            WorkTable(self.machines),
            self.flows,
            self.broker,
            engine=self.engine,
            session_factory=self.sessionmaker,
            redactor=self.redactor,
            http=http,
            lease=self.settings.lease,
        )
        queues = self.broker.get_declared_queues() | self.broker.get_declared_delay_queues()
        install_log_redaction(self.redactor, queues=queues)
        # The relay is a hook like any other: after commit it sends the change's outbox rows.
        self.hooks = (self.work.relay, *hooks)
        self.work.hooks = self.hooks
        plans, emits = plan_outbox(spec_list), plan_emits(spec_list)
        for name, compiled in self.machines.items():
            model = compiled.model
            flow = Flow(
                compiled, inspect(model), hooks=self.hooks, plan=plans[name], emits=emits[name], redactor=self.redactor
            )
            bind_flow(model, flow)
            self.flows[name] = flow

    @classmethod
    def from_path(cls, path: str | Path, **options: Any) -> Statewright:
        """Load every machine file in a folder (or one file) and build the app object; see the class.

        Raises:
            ConfigurationError: ``path`` is empty or does not exist (and whatever the class raises).
        """
        try:
            specs = load_specs(path)
        except FileNotFoundError as missing:
            raise ConfigurationError(
                f"No such machine file or folder: {str(path)!r}; give the folder of your machine files (or one file)."
            ) from missing
        return cls(specs, **options)

    @property
    def archiver(self) -> Archiver:
        """Compress, restore and purge history payloads (see ``engine.archive``)."""
        if self._archiver is None:
            from engine.archive import Archiver, ArchiveSettings

            settings = self.archive_settings or ArchiveSettings.from_settings(self.settings)
            self._archiver = Archiver(self.engine, settings)
        return self._archiver

    @property
    def archive(self) -> Archiver:
        """Deprecated name of ``archiver``."""
        _deprecated("app.archive", "app.archiver")
        return self.archiver

    @property
    def session(self) -> sessionmaker[Session]:
        """Deprecated name of ``sessionmaker`` (it makes sessions; it is not one)."""
        _deprecated("app.session", "app.sessionmaker")
        return self.sessionmaker

    def sweep_outbox(self) -> int:
        """Send every outbox row not sent yet (after a crash or a broker outage); returns how many."""
        return self.work.relay.sweep()

    def resend_stalled(self, *, now: datetime | None = None) -> int:
        """Send again task and endpoint work whose object still waits in its ``when`` state ``resend_after``
        after the message was sent (a broker lost it); returns how many. See ``engine.work.resends``."""
        return resend_stalled(self, after=self.resend_after, now=now)

    def flow(self, model_or_object: Any) -> Flow:
        """The flow of a bound model class or one of its objects."""
        model = model_or_object if isinstance(model_or_object, type) else type(model_or_object)
        return flow_of(model)

    def fire(self, obj: Any, name: str, /, *, actor: str | None = None, **context: Any) -> StatusChange:
        """Fire a transition on any bound object (the same as ``obj.fire`` for ``Stateful`` models)."""
        return self.flow(obj).fire(obj, name, context, actor=actor)

    def callbacks_asgi(self) -> Starlette:
        """The ASGI app receiving the machines' callbacks on ``/callbacks/{machine}/{route}/{key}``.

        Raises:
            ConfigurationError: A callback's secret variable is not set, or its ``handle`` or verifier does not import.
        """
        from engine.callbacks.app import build_callbacks_app

        return build_callbacks_app(self)

    def touch(self, obj: Any, /, *, actor: str | None = None, **context: Any) -> StatusChange:
        """Re-enter a bound object's touchable state (the same as ``obj.touch`` for ``Stateful`` models)."""
        return self.flow(obj).touch(obj, context, actor=actor)

    def close(self) -> None:
        """Close the broker's and the database's connections (the app object is unusable afterwards)."""
        self.broker.close()
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction that commits on success and rolls back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}.", DeprecationWarning, stacklevel=3)
