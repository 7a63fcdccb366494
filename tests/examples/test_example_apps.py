"""The example apps run end to end on a fresh database and reach the states their docstrings promise."""

from __future__ import annotations

from pathlib import Path

from examples.devices.app import main as devices
from examples.documents.app import main as documents
from examples.orders.app import main as orders


def test_documents_complete_and_the_failed_one_is_restarted(tmp_path: Path) -> None:
    outcome = documents(f"sqlite:///{tmp_path / 'documents.db'}")
    assert outcome == {"Report 1": "complete", "Report 2": "complete", "Report 3": "queued"}


def test_an_order_is_refused_until_paid_then_fulfilled_with_its_stock(tmp_path: Path) -> None:
    outcome = orders(f"sqlite:///{tmp_path / 'orders.db'}")
    assert outcome["order"] == "fulfilled"
    assert outcome["item"] == "shipped"
    assert outcome["shipment"].startswith("SHIP-")


def test_a_device_goes_through_error_and_defibrillation_back_online(tmp_path: Path) -> None:
    states = devices(f"sqlite:///{tmp_path / 'devices.db'}")
    assert states == ["offline", "connecting", "online", "active", "error", "connecting", "online"]


def test_the_examples_run_on_postgresql_too(postgres_url: str) -> None:
    assert orders(postgres_url)["order"] == "fulfilled"
