"""``statewright diagram``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.exits import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from engine.cli.loading import load_or_exit
from engine.diagrams import FORMATS, DotUnavailableError, build_graph, render_dot, render_image, render_mermaid


def _guess_format(output: Path | None) -> str:
    if output is not None and output.suffix.lstrip(".") in FORMATS:
        return output.suffix.lstrip(".")
    if output is not None and output.suffix in (".gv", ".mmd"):
        return "dot" if output.suffix == ".gv" else "mermaid"
    return "dot"


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(FORMATS),
              help="Output format; by default taken from -o's suffix, else dot.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")
def diagram(file: str, output_format: str | None, output: Path | None) -> None:
    """Draw a machine: Graphviz DOT, SVG, PNG or Mermaid.

    SVG and PNG need Graphviz's `dot` program; DOT and Mermaid need nothing else.
    """
    spec = load_or_exit(file)
    chosen = output_format or _guess_format(output)
    graph = build_graph(spec)
    try:
        if chosen in ("svg", "png"):
            data = render_image(graph, "svg" if chosen == "svg" else "png")
        else:
            data = (render_mermaid(graph) if chosen == "mermaid" else render_dot(graph)).encode()
    except DotUnavailableError as missing:
        click.echo(f"statewright diagram: {missing}", err=True)
        sys.exit(EXIT_UNAVAILABLE)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            click.echo(f"statewright diagram: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(EXIT_USAGE)
        click.echo(f"Wrote {chosen} diagram of {spec.name!r} to {output}", err=True)
    sys.exit(EXIT_OK)
