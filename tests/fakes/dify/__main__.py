"""python -m tests.fakes.dify: a fake Dify for trying the hub by hand (serves until Ctrl-C)."""

from __future__ import annotations

import argparse
import json

from tests.fakes.dify import FakeDify, success


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Dify service API (for manual testing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--api-key", default="app-demo")
    parser.add_argument(
        "--mode",
        default="workflow",
        choices=["workflow", "advanced-chat", "chat", "agent-chat", "completion"],
    )
    parser.add_argument("--name", default="echo-workflow")
    parser.add_argument("--ping-interval", type=float, default=10.0)
    parser.add_argument(
        "--node-seconds",
        type=float,
        default=0.0,
        help="workflow runs take this long (a slow node, with pings meanwhile)",
    )
    parser.add_argument(
        "--outputs", default="", help='JSON outputs of every workflow run, e.g. {"text": "hi"}'
    )
    parser.add_argument(
        "--control", action="store_true", help="serve /_fake/stats, /_fake/config, /_fake/faults"
    )
    args = parser.parse_args(argv)
    fake = FakeDify(
        api_key=args.api_key,
        app_mode=args.mode,
        name=args.name,
        host=args.host,
        port=args.port,
        ping_interval=args.ping_interval,
    )
    if args.node_seconds or args.outputs:
        fake.default_run = success(
            json.loads(args.outputs) if args.outputs else None, node_seconds=args.node_seconds
        )
    fake.control = args.control
    fake.start()
    print(
        f"Fake Dify ({args.mode}) serving on {fake.url} (API key {args.api_key}); Ctrl-C to stop",
        flush=True,
    )
    fake.serve_forever()


if __name__ == "__main__":
    main()
