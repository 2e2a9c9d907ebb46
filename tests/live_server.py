"""A real uvicorn server over an app, on a free loopback port, in a thread: the HTTP,
range-request and browser tests talk to it as a client would."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def live_server(app: Any, wait_s: float = 10.0) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 at a free port (yielded) until the block ends;
    waits up to ``wait_s`` for the server to start."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    try:
        for _ in range(int(wait_s / 0.05)):
            if server.started:
                break
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        th.join(10)
