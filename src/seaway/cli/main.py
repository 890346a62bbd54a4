"""``seaway``: argument parsing, dispatch and exit codes.

Errors are printed as ``Error response from daemon: <message>`` on stderr with exit
status 1, as the docker CLI does; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from seaway import __version__
from seaway.errors import SeawayError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seaway", description="Docker's networking model on the Linux kernel")
    parser.add_argument("--debug", action="store_true", help="log debug lines and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version")
    demo = sub.add_parser(
        "demo",
        help="build a sandboxed host, create two networks, attach sandboxes and show what reaches what",
    )
    demo.add_argument("--keep", action="store_true", help="wait for Enter before tearing the demo down")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "version":
            print(f"seaway {__version__}")
        elif args.command == "demo":
            from seaway.demo import run

            run(keep=args.keep)
    except SeawayError as exc:
        if args.debug:
            raise
        print(f"Error response from daemon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
