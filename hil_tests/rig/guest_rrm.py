"""Guest side (the venv's Python): the product's `rrm` command line, with chosen loggers at DEBUG.

`python -m hil_tests.rig.guest_rrm --debug edge_agent.event_loop -- --log-level INFO agent ...` runs
`rrm.cli.main.main` exactly as the `rrm` script does, after raising the named loggers to DEBUG. `rrm
--log-level DEBUG` would raise everything, and pyroute2 logs each netlink message at DEBUG, which slows
the agent down under TCG. The rig reads the agent's decisions (e.g. "radar fallback list now [36]")
from those DEBUG lines; nothing else about the agent differs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from types import FrameType

from rrm.cli.main import main


def dump_tasks(_signum: int, _frame: FrameType | None) -> None:
    """Print every task of the running event loop with its stack (runs between bytecodes of the main thread).

    Then every task that died with an error nobody awaited (found by a garbage-collector scan), with its traceback.
    """
    gc.collect()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        print("guest_rrm: no event loop running", file=sys.stderr, flush=True)
        return
    for task in asyncio.all_tasks(loop):
        print(f"guest_rrm: task {task.get_name()}:", file=sys.stderr)
        task.print_stack(file=sys.stderr)
    for task in (t for t in gc.get_objects() if isinstance(t, asyncio.Task) and t.done() and not t.cancelled()):
        if task.exception() is not None:  # died, and whoever holds it never awaited it
            print(f"guest_rrm: task {task.get_name()} died:", file=sys.stderr)
            task.print_stack(file=sys.stderr)
    sys.stderr.flush()


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="guest_rrm")
    parser.add_argument("--debug", action="append", default=[], metavar="LOGGER", help="a logger to show at DEBUG")
    parser.add_argument("rrm_args", nargs=argparse.REMAINDER, help="-- then the rrm command line")
    ns = parser.parse_args(argv)
    signal.signal(signal.SIGUSR1, dump_tasks)
    for name in ns.debug:
        logging.getLogger(name).setLevel(logging.DEBUG)
    args = ns.rrm_args[1:] if ns.rrm_args[:1] == ["--"] else ns.rrm_args
    return main(args)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
