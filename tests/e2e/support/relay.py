"""A TCP relay: ``python -m tests.e2e.support.relay LISTEN PORT TARGET`` copies every connection to
LISTEN:PORT to TARGET:PORT byte for byte (TLS passes through untouched). Loopback addresses only.

dockerd counts every 127.0.0.0/8 registry as insecure and then checks no certificate at all, so the
TLS tests show it the registry on ::1 instead: the same registry, the same certificate, through this.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except RuntimeError:
            pass


async def _serve(listen: str, port: int, target: str) -> None:
    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(handle, listen, port)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    listen, port, target = argv[0], int(argv[1]), argv[2]
    for address in (listen, target):
        if not ipaddress.ip_address(address).is_loopback:
            raise SystemExit(f"relay: {address} is not a loopback address")
    asyncio.run(_serve(listen, port, target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
