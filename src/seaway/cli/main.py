"""``seaway``: argument parsing, dispatch and exit codes.

Docker-style commands (``network``, ``run``, ``ps``, ``exec``, ``logs``, ``image`` …) are
requests to seawayd, chosen by ``-H``/``--host``, else ``SEAWAY_HOST``, else
``unix:///run/seaway.sock``. Errors are printed as ``Error response from daemon:
<message>`` on stderr with exit status 1, as the docker CLI does; ``--debug`` adds the
traceback. ``version``, ``demo`` and ``lab`` need no daemon.
"""

from __future__ import annotations

import argparse
import logging
import sys

from seaway import __version__
from seaway.cli.client import DEFAULT_HOST, HOST_ENV, Client, DaemonError, DaemonUnreachable, resolve_host
from seaway.cli.commands import container, dns, image, lab, network, run, system
from seaway.cli.output import UsageError
from seaway.errors import SeawayError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seaway", description="Docker's networking model on the Linux kernel")
    parser.add_argument("-D", "--debug", action="store_true", help="log debug lines and show tracebacks")
    parser.add_argument("-H", "--host", help=f"daemon socket to connect to (default: ${HOST_ENV}, else {DEFAULT_HOST})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("version", help="print the version")
    sub.add_parser("demo", help="the quick start: the same as seaway lab demo")
    for module in (run, container, network, image, dns, lab, system):
        module.register(sub)
    return parser


def _local(args: argparse.Namespace) -> int:
    if args.command == "version":
        print(f"seaway {__version__}")
    elif args.command == "demo":
        return lab.run(argparse.Namespace(func=lab.run_demo, debug=args.debug))
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in ("version", "demo"):
        return _local(args)
    if getattr(args, "local", False):  # seaway lab: no daemon
        return lab.run(args)
    client = Client(resolve_host(args.host))
    return int(args.func(client, args))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _dispatch(args)
    except (SeawayError, DaemonError) as exc:
        if args.debug:
            raise
        print(f"Error response from daemon: {exc}", file=sys.stderr)
        return 1
    except (DaemonUnreachable, UsageError) as exc:
        if args.debug:
            raise
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141  # stdout closed early (seaway ps | head)


if __name__ == "__main__":
    sys.exit(main())
