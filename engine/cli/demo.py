"""``statewright demo``: the document machine end to end on this machine, with nothing else running."""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from engine.cli.exits import EXIT_OK, EXIT_PROBLEMS
from engine.cli.failing import CommandFailed, make_console
from engine.cli.loading import load_or_exit
from engine.cli.logs import configure_logging, log_level_option
from engine.dependencies import missing_dependency
from engine.errors import DefinitionError
from engine.settings import default_named
from engine.spec.model import MachineSpec

#: Seconds the demo waits for every document to finish before giving up.
DEMO_DEADLINE = 300
#: Most documents one demo run pushes (a count).
MAX_DOCUMENTS = 100_000
#: Most worker threads the demo starts (a count).
MAX_THREADS = 64
#: The variable holding the secret the publishing service signs its callbacks with; the demo sets it for itself.
SECRET_ENV = "DOCUMENTS_WEBHOOK_SECRET"
#: Times the publishing service delivers a callback that is not yet accepted (a count), like a provider's retries.
CALLBACK_ATTEMPTS = 50
#: Seconds between two deliveries of the same callback.
CALLBACK_RETRY_DELAY = 0.2


class _PublishingService(BaseHTTPRequestHandler):
    """The external service the document machine's `publish` endpoint calls; it confirms each document later.

    The confirmation is a signed callback sent from another thread after the answer, so it can reach the
    callbacks app before the endpoint's move commits: like a real provider, it retries what is answered 409.
    """

    #: Set by ``_service``: where the callbacks app listens, and how deliveries are signed.
    callbacks_url: str = ""
    sign: Any = None

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("content-length", 0)))
        document_id = self.path.strip("/").split("/")[1]
        body = json.dumps({"receipt": f"R-{document_id}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.sign is not None:
            threading.Thread(target=self._confirm, args=(document_id,), daemon=True).start()

    def _confirm(self, document_id: str) -> None:
        import httpx  # not at the top: the CLI's database commands must not load the runtime libraries

        body = json.dumps({"document": document_id, "live": True}).encode()
        headers = {"Content-Type": "application/json", "X-Delivery-Id": f"confirm-{document_id}", **self.sign(body)}
        for _ in range(CALLBACK_ATTEMPTS):
            try:
                answer = httpx.post(f"{self.callbacks_url}/{document_id}", content=body, headers=headers, timeout=30)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code < 300:
                return
            time.sleep(CALLBACK_RETRY_DELAY)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet."""


@contextmanager
def _service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PublishingService)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _callbacks_server(app: Any, spec: MachineSpec) -> Iterator[None]:
    """Serve the app's callbacks on loopback and point the publishing service at the first HMAC-signed one."""
    try:
        import uvicorn

        from engine.callbacks.verification import HmacCheck, build_check
        from engine.serving import listen
    except ImportError as missing:
        raise missing_dependency(missing, "The demo's callback step") from None
    signed = [(c, check) for c in spec.callbacks.values() if isinstance(check := build_check(c), HmacCheck)]
    if not signed:  # a --machine without callbacks: the publishing service calls nobody back
        yield
        return
    callback, check = signed[0]
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app.callbacks_asgi(), log_level="critical", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    _PublishingService.sign = check.sign
    _PublishingService.callbacks_url = f"http://127.0.0.1:{port}/callbacks/{spec.name}/{callback.route}"
    try:
        yield
    finally:
        _PublishingService.sign = None
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@click.command()
@click.option(
    "--documents",
    default=200,
    show_default=True,
    type=click.IntRange(1, MAX_DOCUMENTS),
    help="How many documents to push through.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("statewright-demo"),
    show_default=True,
    help="Folder for the demo's database and diagram.",
)
@click.option(
    "--machine",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A machine file of your own to run instead (its dotted paths must import from here).  "
    "[default: the packaged document machine, copied into --out]",
)
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, MAX_THREADS), help="Worker threads.")
@click.option("--fresh", is_flag=True, help="Delete the previous demo's database first (it is kept by default).")
@log_level_option
def demo(documents: int, out: Path, machine: Path | None, threads: int, fresh: bool, log_level: str) -> None:
    """Run the document machine: a task, an endpoint, a signed callback on loopback, a worker, all in this process.

    The database in --out is kept between runs (each run adds its documents); --fresh starts over.
    """
    configure_logging(log_level)
    from engine.diagrams import build_graph, render_dot

    if machine is not None:
        spec = load_or_exit(str(machine))  # a broken machine file stops the demo before anything is touched
    console = make_console()
    out.mkdir(parents=True, exist_ok=True)
    if machine is None:  # the packaged machine, copied where the user can read it and point the admin at it
        from engine.demo import DEMO_MACHINE

        machine = out / DEMO_MACHINE.name
        machine.write_text(DEMO_MACHINE.read_text())
        spec = load_or_exit(str(machine))
    database = (out / "demo.db").resolve()
    if fresh:
        for stale in out.glob("demo.db*"):
            stale.unlink()
    sys.path.insert(0, str(Path.cwd()))
    default_named(SECRET_ENV, secrets.token_hex(32))  # the demo's publishing service signs with it
    counts = _run(spec, f"sqlite:///{database}", documents, threads, console)
    diagram = out / f"{spec.name}.dot"
    diagram.write_text(render_dot(build_graph(spec)))
    console.print(f"Diagram written to {diagram} (render it: statewright diagram {machine} -o {spec.name}.svg)")
    console.print(f"Database: {database} (kept for the next run; --fresh starts over)", soft_wrap=True)
    console.print(
        f"Browse it: statewright admin --machines {machine} --database-url sqlite:///{database}", soft_wrap=True
    )
    sys.exit(EXIT_OK if counts.get("complete", 0) == documents else EXIT_PROBLEMS)


def _run(spec: MachineSpec, database_url: str, documents: int, threads: int, console: Any) -> Counter[str]:
    """Push ``documents`` new documents through the machine; returns their statuses."""
    from dramatiq import Worker
    from rich.progress import Progress

    from engine.migrations.upgrade import upgrade
    from engine.statewright import Statewright

    with _service() as base_url:
        try:
            app = Statewright([spec], database_url=database_url, broker_url="memory://", http_base_url=base_url)
        except DefinitionError as problems:
            for diagnostic in problems.diagnostics:
                click.echo(diagnostic.render(), err=True)
            raise CommandFailed("the machine's dotted paths must import from this folder.", EXIT_PROBLEMS) from None
        try:
            model = _import_model(spec.model)
            upgrade(app.engine)
            model.metadata.create_all(app.engine)
            worker = Worker(app.broker, worker_threads=threads, worker_timeout=100)
            worker.start()
            try:
                finals = set(spec.final_states) | {w.steps.error for w in spec.work()}
                with _callbacks_server(app, spec):
                    counts, first = _push(app, model, documents, finals, console, Progress)
            finally:
                worker.stop()
            _report(app, model, counts, first, console, _work_by_move(spec))
        finally:
            app.close()
    return counts


def _import_model(path: str) -> Any:
    from engine.compiler import import_path

    return import_path(path)


def _push(
    app: Any, model: Any, count: int, finals: set[str], console: Any, progress_type: Any
) -> tuple[Counter[str], int]:
    """Add ``count`` documents and wait for them; returns their statuses and the first one's id."""
    from sqlalchemy import func, select

    with app.sessionmaker() as session:
        # Documents of earlier runs stay; only this run's (ids above the previous highest) are counted.
        after = session.scalar(select(func.coalesce(func.max(model.id), 0)))
        session.add_all([model(title=f"Document {n}") for n in range(after + 1, after + count + 1)])
        session.commit()
    deadline = time.monotonic() + DEMO_DEADLINE
    counts: Counter[str] = Counter()
    with progress_type(console=console) as progress:
        bar = progress.add_task("documents finished", total=count)
        while time.monotonic() < deadline:
            with app.sessionmaker() as session:
                rows = session.execute(
                    select(model.status, func.count()).where(model.id > after).group_by(model.status)
                ).all()
            counts = Counter({str(status): n for status, n in rows})
            done = sum(n for state, n in counts.items() if state in finals)
            progress.update(bar, completed=done)
            if done >= count:
                break
            time.sleep(0.2)
    return counts, after + 1


def _work_by_move(spec: MachineSpec) -> dict[tuple[str, str], str]:
    """(from state, to state) → the work that makes that move, e.g. ``"task generate"``."""
    kinds: list[tuple[str, Any]] = [("task", t) for t in spec.tasks.values()]
    kinds += [("endpoint", e) for e in spec.endpoints.values()]
    kinds += [("callback", c) for c in spec.callbacks.values()]
    return {(source, target): f"{kind} {work.name}" for kind, work in kinds for _, source, target in work.steps.moves()}


def _report(
    app: Any, model: Any, counts: Counter[str], first_id: int, console: Any, work: dict[tuple[str, str], str]
) -> None:
    from rich.table import Table

    table = Table(title="documents by status")
    table.add_column("status")
    table.add_column("count", justify="right")
    for state, number in sorted(counts.items()):
        table.add_row(state, str(number))
    console.print(table)
    with app.sessionmaker() as session:
        first = session.get(model, first_id)
        if first is not None:
            console.print(f"history of document {first.id}:")
            for change in first.history():
                detail = f" {json.dumps(change.payload)[:90]}" if change.payload else ""
                by = work.get((change.from_state, change.to_state))
                console.print(
                    f"  {change.created_at:%H:%M:%S.%f} {change.from_state} -> {change.to_state} "
                    f"({change.transition}{', ' + by if by else ''}){detail}",
                    markup=False,
                )
