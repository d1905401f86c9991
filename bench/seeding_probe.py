"""Which of the bot's functions run while the demo county is seeded (mutation bench helper).

    python bench/seeding_probe.py OUT     # run from the checkout; writes one name per line

Names are mutmut's: chatbot.people.demo.x_seed_demo for a function, chatbot.aid.pack.xǁPackǁitem
for a method. bench/mutation_plugin.py reads the list: a mutant of one of these functions must seed
its own county instead of reusing the shared template.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path.cwd()))

from tests.conftest import DatabaseFactory


def mutmut_name(module: str, qualname: str) -> str:
    parts = qualname.split(".")
    return f"{module}.x_{qualname}" if len(parts) == 1 else f"{module}.xǁ{'ǁ'.join(parts)}"


def main(out: Path) -> None:
    seen: set[str] = set()

    def probe(frame: FrameType, event: str, arg: Any) -> None:
        module = frame.f_globals.get("__name__", "")
        qualname = frame.f_code.co_qualname
        # Nested functions and comprehensions are mutated as part of the function around them.
        if event == "call" and module.startswith("chatbot.") and "<" not in qualname:
            seen.add(mutmut_name(module, qualname))

    sys.setprofile(probe)
    try:
        DatabaseFactory(Path(tempfile.mkdtemp())).template(seeded=True)
    finally:
        sys.setprofile(None)
    out.write_text("\n".join(sorted(seen)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
