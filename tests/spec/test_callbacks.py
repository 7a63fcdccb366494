"""The `callbacks:` section: what the builder makes of it and how `show` and diagrams present it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main
from engine.diagrams.graph import build_graph
from engine.spec.loader import load_spec
from engine.spec.model import DEFAULT_CALLBACK_MAX_BODY, CallableVerifier, HmacVerifier

CASE = Path(__file__).parents[1] / "cases" / "valid" / "callbacks.yaml"


def test_a_callback_is_built_with_its_verifier_and_the_defaults_the_file_leaves_out() -> None:
    spec = load_spec(CASE)
    settled, pushed, custom = spec.callbacks["settled"], spec.callbacks["pushed"], spec.callbacks["custom"]
    assert settled.route == "stripe-settled"
    assert settled.verify == HmacVerifier(
        secret_env="STRIPE_WEBHOOK_SECRET", header="Stripe-Signature", format="stripe", tolerance=timedelta(minutes=5)
    )
    assert (settled.delivery_header, settled.replay_ttl, settled.max_body) == (
        "Stripe-Event-Id",
        timedelta(days=7),
        65536,
    )
    assert pushed.route == "pushed"
    assert pushed.verify == HmacVerifier(secret_env="GITHUB_SECRET", header="X-Hub-Signature-256", prefix="sha256=")
    assert (pushed.max_body, pushed.delivery_header) == (DEFAULT_CALLBACK_MAX_BODY, None)
    assert custom.verify == CallableVerifier("app.callbacks:verify")
    assert list(custom.steps.moves()) == [("complete", "awaiting", "paid"), ("error", "awaiting", "failed")]


def test_the_diagram_shows_the_callbacks_a_state_awaits() -> None:
    nodes = {node.name: node for node in build_graph(load_spec(CASE)).nodes}
    assert nodes["awaiting"].work == (
        "awaits callback settled",
        "awaits callback pushed",
        "awaits callback custom",
    )


def test_show_lists_each_callback_with_its_url_and_verifier() -> None:
    result = CliRunner().invoke(main, ["show", str(CASE)], env={"COLUMNS": "250"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "/callbacks/payment/stripe-settled/{key}" in result.output
    assert "hmac-sha256 X-Hub-Signature-256 ($GITHUB_SECRET)" in result.output
    assert "app.callbacks:verify" in result.output
