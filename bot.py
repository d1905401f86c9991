#!/usr/bin/env python3
"""Jiaxiao 家校: command-line entry. Run `python bot.py --help` for the subcommands."""

import sys

from chatbot.cli import main

if __name__ == "__main__":
    sys.exit(main())
