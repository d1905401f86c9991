"""argparse in the operator's language.

argparse renders its own words ("usage: ", "options", "error: ...") through the names `_` and
`ngettext` that it imports from the standard `gettext` module into its own namespace, so those
lookups never see our catalogs. `argparse_translations()` (a context manager) points `argparse._` and
`argparse.ngettext` at functions that look the msgid up in the 'core' domain catalog of the
*current* locale (chatbot.i18n), falling back to the English msgid. `chatbot.cli.main` builds
and runs its parser inside `with argparse_translations():`, because some words ("options",
"show this help message and exit") are fixed when a parser is created and the rest when it
parses; on leaving, argparse's own functions are put back, so nothing else in the process (a
test, a library) gets translated argparse messages it did not ask for.

The msgids below are copied exactly from Python 3.11's argparse.py (placeholders included), so
`python -m chatbot.catalogs update core` extracts them into the core catalogs. If a newer Python
changes a msgid, the text simply stays English until it is added here.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from chatbot.i18n import N_, domain_catalogs, get_locale

ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("subcommands"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ignored explicit argument %r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
)


def argparse_gettext(message: str) -> str:
    """argparse's `_`: the core catalog's translation for the current locale, else `message`."""
    # argparse also calls `_(None)` (a subparser group without a description) and `_('')`,
    # which a catalog would answer with its header.
    if not isinstance(message, str) or not message:
        return message
    catalog = domain_catalogs(get_locale()).get("core")
    return catalog.ugettext(message) if catalog is not None else message


def argparse_ngettext(singular: str, plural: str, n: int) -> str:
    """argparse's `ngettext`, through the core catalog like `argparse_gettext`."""
    catalog = domain_catalogs(get_locale()).get("core")
    if catalog is None:
        return singular if n == 1 else plural
    return catalog.ungettext(singular, plural, n)


@contextmanager
def argparse_translations() -> Iterator[None]:
    """Within the block argparse translates its own messages through our catalogs (see above)."""
    saved = (getattr(argparse, "_"), getattr(argparse, "ngettext"))  # noqa: B009 - not in the stub
    setattr(argparse, "_", argparse_gettext)  # noqa: B010
    setattr(argparse, "ngettext", argparse_ngettext)  # noqa: B010
    try:
        yield
    finally:
        setattr(argparse, "_", saved[0])  # noqa: B010
        setattr(argparse, "ngettext", saved[1])  # noqa: B010
