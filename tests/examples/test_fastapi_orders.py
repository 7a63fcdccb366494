"""The FastAPI example through a real uvicorn server on loopback, on SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from examples.fastapi_orders.app import build
from tests.callbacks.serving import run_server


def test_an_order_is_created_refused_while_underpaid_then_confirmed_over_http(database_url: str) -> None:
    with run_server(build(database_url)) as url, httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/orders", json={"total_amount": "100.00"})
        assert created.status_code == 201
        order = created.json()
        assert (order["status"], order["transitions"]) == ("pending", ["confirm_payment", "cancel"])
        underpaid = client.post(
            f"/orders/{order['id']}/confirm_payment", json={"payment_status": "succeeded", "amount": 40}
        )
        assert underpaid.status_code == 409
        assert "payment_confirmed" in underpaid.json()["detail"]
        paid = client.post(
            f"/orders/{order['id']}/confirm_payment", json={"payment_status": "succeeded", "amount": 100}
        )
        assert (paid.status_code, paid.json()["status"]) == (200, "confirmed")
        assert client.post(f"/orders/{order['id']}/confirm_payment", json={}).status_code == 409  # not from here
        assert client.post("/orders/999999/cancel").status_code == 404
        history = client.get(f"/orders/{order['id']}/history").json()
        assert [(c["transition"], c["to_state"]) for c in history] == [
            ("create", "pending"),
            ("confirm_payment", "confirmed"),
        ]
        assert history[1]["context"] == {"payment_status": "succeeded", "amount": 100}


def test_concurrent_requests_firing_one_order_move_it_once(database_url: str) -> None:
    with run_server(build(database_url)) as url, httpx.Client(base_url=url, timeout=30) as client:
        order = client.post("/orders", json={"total_amount": "10.00"}).json()
        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(lambda _: client.post(f"/orders/{order['id']}/cancel").status_code, range(8)))
        assert codes == [200] + [409] * 7
        history = client.get(f"/orders/{order['id']}/history").json()
        assert [c["transition"] for c in history] == ["create", "cancel"]
