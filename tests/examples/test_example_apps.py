"""The example apps run end to end, twice on the same database, and reach the states their docstrings promise."""

from __future__ import annotations

from pathlib import Path

from examples.devices.app import main as devices
from examples.documents.app import main as documents
from examples.orders.app import main as orders


def test_documents_complete_in_the_background_and_the_refused_one_after_defibrillation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'documents.db'}"
    for _ in range(2):
        assert documents(url) == {"Report 1": "complete", "Report 2": "complete", "Report 3": "complete"}


def test_an_order_is_refused_until_paid_then_reactions_reserve_and_ship_its_item(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    for run in (1, 2):
        outcome = orders(url)
        assert outcome == {"order": "fulfilled", "item": "shipped", "shipment": f"SHIP-{run:08d}", "stock": "4"}


def test_a_device_goes_through_error_and_defibrillation_back_online_on_every_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'devices.db'}"
    for _ in range(2):
        assert devices(url) == ["offline", "connecting", "online", "active", "error", "connecting", "online"]


def test_the_examples_run_on_postgresql_too(postgres_url: str) -> None:
    assert orders(postgres_url)["order"] == "fulfilled"
    assert devices(postgres_url)[-1] == "online"
