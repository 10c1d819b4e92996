"""``python -m chaos.demo --variant resilient|naive --port N``: the demo document service."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from chaos.demo.app import make_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.demo", description=__doc__)
    parser.add_argument("--variant", choices=["naive", "resilient"], default="resilient")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--spool", type=Path, default=None, help="Directory of the write spool (resilient).")
    args = parser.parse_args(argv)
    server = make_server(args.variant, args.port, args.host, args.spool)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"demo document service ({args.variant}) on http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever(poll_interval=0.05)  # SIGTERM -> shutdown within 50 ms, not 0.5 s
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
