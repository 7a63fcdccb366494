"""``statewright diagram``: draw a machine, in the format its output file's suffix names."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click

from engine.cli.exits import EXIT_OK, EXIT_USAGE
from engine.cli.failing import CommandFailed
from engine.cli.loading import load_or_exit
from engine.diagrams import FORMATS, build_graph, render_dot, render_image, render_mermaid
from engine.diagrams.dot import ImageFormat

#: The format each output suffix means (compared in lower case).
FORMAT_OF_SUFFIX = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
}
#: Formats drawn by Graphviz's `dot` program; the others are text made here.
IMAGE_FORMATS = ("svg", "png", "pdf")


def choose_format(output: Path | None, given: str | None) -> str:
    """The format to write: ``-f`` if given, else the one ``-o``'s suffix names, else DOT on standard output.

    Raises:
        CommandFailed: ``-o`` has a suffix that names no format and no ``-f`` was given, or ``-f`` contradicts it.
    """
    if output is None:
        return given or "dot"
    implied = FORMAT_OF_SUFFIX.get(output.suffix.lower())
    suffixes = ", ".join(FORMAT_OF_SUFFIX)
    if implied is None and given is None:
        named = repr(output.suffix) if output.suffix else "(there is none)"
        raise CommandFailed(
            f"cannot tell the format of {output} from its suffix {named}: use one of {suffixes}, or give -f/--format.",
            EXIT_USAGE,
        )
    if implied is not None and given is not None and implied != given:
        raise CommandFailed(
            f"-o {output} names the {implied} format but -f says {given}: make them agree, or leave out -f.", EXIT_USAGE
        )
    return given or cast(str, implied)


def check_output(name: str | None) -> Path | None:
    """The ``-o`` path, if it is a new file or a regular one.

    Raises:
        CommandFailed: The name is empty, or names a FIFO, a device or a socket (writing there could block
            forever or feed something else).
    """
    if name is None:
        return None
    if name == "":
        raise CommandFailed(
            "-o was given an empty path; name the file to write (like document.svg), or leave "
            "out -o for standard output.",
            EXIT_USAGE,
        )
    output = Path(name)
    if output.exists() and not output.is_file():
        raise CommandFailed(
            f"-o {output} exists and is not a regular file (a FIFO, a device or a socket); name "
            "a new or a regular file, or leave out -o for standard output.",
            EXIT_USAGE,
        )
    return output


@click.command(epilog="\b\nSuffixes: .dot/.gv (DOT), .svg, .png, .pdf (drawn by Graphviz's `dot`), .mmd/.mermaid.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    help="Output format; by default taken from -o's suffix, else dot.",
)
@click.option(
    "-o",
    "--output",
    "output_name",
    type=click.Path(dir_okay=False),
    help="Write here instead of standard output (a new or a regular file).",
)
def diagram(file: str, output_format: str | None, output_name: str | None) -> None:
    """Draw a machine: Graphviz DOT, SVG, PNG, PDF or Mermaid.

    SVG, PNG and PDF need Graphviz's `dot` program; DOT and Mermaid need nothing else.
    """
    output = check_output(output_name)
    chosen = choose_format(output, output_format)
    spec = load_or_exit(file)
    graph = build_graph(spec)
    if chosen in IMAGE_FORMATS:
        data = render_image(graph, cast(ImageFormat, chosen))
    else:
        data = (render_mermaid(graph) if chosen == "mermaid" else render_dot(graph)).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        click.echo(f"Wrote {chosen} diagram of {spec.name!r} to {output}", err=True)
    sys.exit(EXIT_OK)
