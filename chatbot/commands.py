"""What every domain's command-line module uses to add its subcommands (`python bot.py ...`).

A leaf module: domain `cli` modules import it, and chatbot/cli.py (the entry point) imports them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from chatbot.app import App

Handler = Callable[[argparse.Namespace, App], int]


def fail(message: str) -> int:
    """One clear line on stderr and exit code 2, for bad input on the command line."""
    print(message, file=sys.stderr)
    return 2


def add_command(
    sub: Any, name: str, handler: Handler, help_text: str, **kwargs: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
    parser.set_defaults(handler=handler)
    return parser
