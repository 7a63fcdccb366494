"""The listening socket ``statewright serve`` and ``statewright admin`` hand to uvicorn."""

from __future__ import annotations

import asyncio
import socket

from engine.serving import listen


def test_connections_accepted_on_the_socket_send_without_waiting_for_the_clients_ack() -> None:
    """asyncio turns Nagle's algorithm off only on sockets that say they are TCP; with it on, every answer
    written in two parts waited for the client's delayed ACK (40 ms on Linux: 44 ms per callback, seen)."""

    async def accepted_nodelay() -> int:
        flags: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            flags.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = listen("127.0.0.1", 0)
        server = await asyncio.start_server(connected, sock=sock)  # as uvicorn serves the sockets it is given
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            flag = await asyncio.wait_for(flags, 10)
            writer.close()
        return flag

    assert asyncio.run(accepted_nodelay()) != 0
