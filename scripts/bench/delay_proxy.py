#!/usr/bin/env python3
"""A database a network hop away, on one machine: a TCP proxy that forwards
127.0.0.1:<listen> to 127.0.0.1:<target> and holds every chunk for <delay-ms> each way.
Point the server's DATABASE_URL at the listen port to see what round trips cost a page
on a hosted database (Supabase). asyncio's timers add their own slack: measure the
round trip it gives (psql's \\timing on `select 1`) and report that, not the argument.

    python3 scripts/bench/delay_proxy.py --delay-ms 0.5 --listen 5433 --target 5432
"""
import argparse
import asyncio


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            # Same delay for every chunk: they arrive in the order they were sent.
            loop.call_later(delay, writer.write, data)
    finally:
        loop.call_later(delay * 2, writer.close)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=float, default=0.5)
    ap.add_argument("--listen", type=int, default=5433)
    ap.add_argument("--target", type=int, default=5432)
    args = ap.parse_args()
    delay = args.delay_ms / 1000

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", args.target)
        await asyncio.gather(
            pipe(client_reader, server_writer, delay),
            pipe(server_reader, client_writer, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
