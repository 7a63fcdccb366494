"""Generate realistic machine files for benchmarks: a pipeline of states with tasks, timeouts and guards."""

from __future__ import annotations

from pathlib import Path


def machine_text(index: int, states: int = 20) -> str:
    """A valid machine of ``states`` states: a chain with an error state, guards, a task and an endpoint."""
    if states < 8:
        raise ValueError("benchmark machines need at least 8 states (their task and endpoint use five)")
    names = [f"step_{i}" for i in range(states - 2)] + ["failed", "done"]
    lines = [
        "version: 1",
        f"name: bench_{index}",
        f"description: Benchmark machine number {index}.",
        f"model: bench.models:Thing{index}",
        "initial: step_0",
        "states:",
    ]
    for value, name in enumerate(names):
        extra = ""
        if name == "done":
            extra = ", final: true"
        elif name == "failed":
            extra = ", defibrillate: step_0"
        elif value % 5 == 1:
            extra = ", timeout: {after: 10m, to: failed}"
        lines.append(f'  {name}: {{value: {value}, events: [bench.{name}], metadata: {{color: "#3B82F6"}}{extra}}}')
    lines += [
        "guards:",
        '  big: "context.amount >= model.total and not context.blocked"',
        "  vip: bench.guards:vip",
        "transitions:",
    ]
    chain = names[:-2] + ["done"]
    for i, (source, target) in enumerate(zip(chain, chain[1:], strict=False)):
        guard = ", guard: {any: [big, vip]}" if i % 4 == 0 else ""
        lines.append(f"  - {{name: advance_{i}, from: {source}, to: {target}{guard}}}")
    lines.append("  - {name: fail, from: [" + ", ".join(names[:-2]) + "], to: failed}")
    lines += [
        "tasks:",
        "  work: {when: step_0, run: bench.tasks:work, processing: step_1, complete: step_2, error: failed, "
        "retries: 3, backoff: {min: 1s, max: 5m}, time_limit: 10m}",
        "endpoints:",
        '  call: {when: step_2, method: POST, url: "https://api.example.com/things/{model.id}", '
        "processing: step_3, complete: step_4, error: failed, timeout: 30s, redact: [authorization]}",
    ]
    return "\n".join(lines) + "\n"


def write_machines(folder: Path, count: int = 500, states: int = 20) -> list[Path]:
    """Write ``count`` machine files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"machine_{index:04d}.yaml"
        path.write_text(machine_text(index, states))
        paths.append(path)
    return paths
