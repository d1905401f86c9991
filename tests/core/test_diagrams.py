"""Every flow's .mmd diagram draws exactly the transitions its table declares.

The diagram beside a flow is what a reader trusts; the table is what the router enforces
(a step that moves anywhere else raises). Here the two are held against each other.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from chatbot.core.domains import default_registry
from chatbot.core.flow import Flow

ROOT = Path(__file__).resolve().parents[2] / "chatbot"
EDGE = re.compile(r"^\s*(\[\*\]|[a-z][a-z0-9_]*)\s*-->\s*(\[\*\]|[a-z][a-z0-9_]*)(?=\s|:|$)")
FLOWS = sorted(default_registry().flows.values(), key=lambda f: f.name)


def diagram_of(flow: Flow) -> Path | None:
    """The .mmd beside the module that defines the flow's entry step: named after the module or the flow."""
    module = Path(inspect.getsourcefile(flow.entry.step) or "")
    for candidate in (module.with_suffix(".mmd"), module.with_name(f"{flow.name}.mmd")):
        if candidate.exists():
            return candidate
    return None


def drawn_edges(path: Path) -> set[tuple[str, str]]:
    return {
        (m.group(1), m.group(2))
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("%%") and (m := EDGE.match(line))
    }


def test_the_edge_reader_reads_mermaid_state_lines(tmp_path: Path) -> None:
    sample = tmp_path / "x.mmd"
    sample.write_text(
        "stateDiagram-v2\n    [*] --> start: /x\n    start --> ask: label --> not an edge\n"
        "    %% start --> commented\n    ask --> [*]\n",
        encoding="utf-8",
    )
    assert drawn_edges(sample) == {("[*]", "start"), ("start", "ask"), ("ask", "[*]")}


@pytest.mark.parametrize("flow", [f for f in FLOWS if f.states], ids=lambda f: f.name)
def test_each_flow_with_states_has_a_diagram_that_matches_its_table(flow: Flow) -> None:
    path = diagram_of(flow)
    assert path is not None, f"flow {flow.name} has no diagram beside its module"
    drawn = drawn_edges(path)
    assert sorted(drawn - flow.edges()) == [], f"{path.name} draws moves the table does not allow"
    assert sorted(flow.edges() - drawn) == [], f"{path.name} leaves out moves the table allows"


def test_every_diagram_belongs_to_a_flow() -> None:
    claimed = {diagram_of(flow) for flow in FLOWS}
    assert sorted(p.relative_to(ROOT).as_posix() for p in set(ROOT.rglob("*.mmd")) - claimed) == []
