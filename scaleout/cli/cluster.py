"""``scaleout cluster up | status | down``: local Dask and Spark standalone clusters."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any

__all__ = ["add_commands"]


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def cmd_cluster(args: argparse.Namespace) -> int:
    from ..clusters import down, status, up

    if args.action == "up":
        if args.engine is None:
            args.engine = "dask"
        options: dict[str, Any] = {
            "cores": args.cores,
            "timeout": args.timeout,
            "host": args.host,
        }
        if args.memory:
            options["memory"] = args.memory
        if args.port is not None:
            options["port"] = args.port
        if args.ui_port is not None:
            options["ui_port"] = args.ui_port
        if args.spark_rest:
            options["rest"] = True
        if args.rest_port is not None:
            if not args.spark_rest:
                from ..exceptions import ScaleoutError

                raise ScaleoutError("--rest-port needs --spark-rest")
            options["rest_port"] = args.rest_port
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            state = up(args.engine, args.workers, **options)
        for warning in caught:
            if issubclass(warning.category, UserWarning):  # one line, not Python's file:line
                print(f"scaleout: warning: {warning.message}", file=sys.stderr)
        _print_json(state if args.json else _summary(state))
        return 0
    if args.action == "status":
        states = status(args.engine)
        if args.json:
            _print_json(states)
        elif not states:
            print("no cluster is up")
        for state in states if not args.json else []:
            print(_format(state))
        return 0
    stopped = down(args.engine, force=args.force)
    if not stopped:
        print("no cluster to stop")
    for item in stopped:
        pids = ", ".join(map(str, item["stopped"])) or "none alive"
        print(f"stopped {item['engine']} cluster {item['address']} (pids: {pids})")
    return 0


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "engine": state["engine"],
        "address": state["address"],
        "dashboard": state["dashboard"],
        "pids": [p["pid"] for p in state["processes"]],
        "logs": [p["log"] for p in state["processes"]],
        "state_file": state.get("state_file"),
        "credentials": state.get("security") or state.get("properties_file"),
        "connect": f"so.connect({state['address']!r})",
    } | ({"rest_url": state["rest_url"]} if state.get("rest_url") else {})


def _format(state: dict[str, Any]) -> str:
    lines = [f"{state['engine']}: {state['address']}  dashboard {state['dashboard']}"]
    if not state.get("ready", True):
        lines[0] += "  (not ready: its `up` is running, or was stopped halfway)"
    if state.get("rest_url"):
        lines.append(f"  REST submission server {state['rest_url']} (no authentication)")
    for p in state["processes"]:
        alive = "alive" if p.get("alive") else "DEAD"
        lines.append(f"  {p['role']:<10} pid {p['pid']:<8} {alive:<6} log {p['log']}")
    return "\n".join(lines)


def add_commands(sub: Any) -> None:
    """Add ``cluster`` to the ``scaleout`` parser."""
    cluster = sub.add_parser("cluster", help="start, inspect or stop a local Dask/Spark cluster")
    cluster.add_argument("action", choices=("up", "down", "status"))
    cluster.add_argument(
        "--engine",
        choices=("dask", "spark"),
        help="up: default dask; down/status: default every engine",
    )
    cluster.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    cluster.add_argument("--cores", type=int, default=1, help="cores/threads per worker")
    cluster.add_argument("--memory", help="memory per worker (default 2GiB dask, 1g spark)")
    cluster.add_argument(
        "--port", type=int, help="scheduler/master port (default 8786 dask, 7077 spark; 0: free)"
    )
    cluster.add_argument(
        "--ui-port",
        type=int,
        help="dashboard/master UI port (default 8787 dask, 8080 spark; 0: free)",
    )
    cluster.add_argument(
        "--host",
        default="127.0.0.1",
        help="up: the address every process listens on (default 127.0.0.1, loopback only)",
    )
    cluster.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for workers")
    cluster.add_argument(
        "--spark-rest",
        action="store_true",
        help="up --engine spark: also start the master's REST submission server on --host "
        "(off by default: it has no authentication)",
    )
    cluster.add_argument(
        "--rest-port", type=int, help="with --spark-rest: its port (default 6066; 0: free)"
    )
    cluster.add_argument(
        "--force",
        action="store_true",
        help="down: also with a damaged state file (stops the processes tagged with it)",
    )
    cluster.add_argument("--json", action="store_true", help="print the full state as JSON")
    cluster.set_defaults(func=cmd_cluster)
