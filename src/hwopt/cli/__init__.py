"""The ``hwopt`` command line: the only place that parses argv, prints or exits.

Each sub-command lives in its own module ``hwopt.cli._<name>`` exposing
``register(subparsers)``; adding a command is one module plus one entry in ``COMMANDS``.
Every :class:`~hwopt.errors.HwoptError` becomes one ``error: ...`` line on stderr and exit
status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

from hwopt import __version__
from hwopt.errors import HwoptError

#: sub-command modules, in the order ``hwopt --help`` lists them
COMMANDS = [
    "search",
    "resume",
    "remeasure",
    "report",
    "spaces",
    "benchmarks",
    "bench",
    "measure",
    "export",
    "estimate",
    "hardware",
    "costmodel",
    "llm",
]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ``error:`` line and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"error: {message} (see: {self.prog} --help)\n")
        raise SystemExit(2)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings reach users as one ``warning: ...`` line (the source location only under --debug)."""
    sys.stderr.write(f"warning: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hwopt", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hwopt {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"hwopt.cli._{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"hwopt.cli._{name}":
                raise
            continue  # command not built yet in this checkout
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    if not args.debug:
        logging.getLogger("optuna").setLevel(logging.WARNING)
    if args.command is None:
        args = parser.parse_args(["search", *argv])  # the main job on its built-in default
    try:
        with warnings.catch_warnings():
            if not args.debug:
                warnings.simplefilter("default")
                warnings.showwarning = _one_line_warning
            return int(args.func(args) or 0)
    except HwoptError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
        try:  # and keep the interpreter's final flush from hitting the closed pipe again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file descriptor (embedded, captured)
            pass
        return 0
    except Exception as exc:  # a bug, not bad input: still one line unless --debug
        if args.debug:
            raise
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; completed evaluations are saved (hwopt resume STUDY)\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
