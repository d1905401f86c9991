"""Mutation bench: how many planted bugs the tests catch, per domain package.

    .venv/bin/python bench/mutation.py                       # every domain package (hours)
    .venv/bin/python bench/mutation.py calendar attendance   # some packages
    .venv/bin/python bench/mutation.py --changed             # only the files changed since origin/main
    .venv/bin/python bench/mutation.py --files chatbot/calendar/official.py
    .venv/bin/python bench/mutation.py delivery --keep              # keep the scratch folder, then:
    TEST_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/mutation.py --resume DIR --postgres

bench/mutation_plugin.py empties the bot's functools caches before each test, so that every test
that checks a cached function is linked to its mutants. tests/test_catalogs.py is left out: it reads the source text, where mutmut's trampolines add a
copy of every string. It copies the working tree to a scratch folder, runs mutmut 3 there (installed into the project's venv
on first use), and prints the kill rate per package and every surviving mutant. The working tree is
never touched. Not part of CI: it is slow. Survivors are either killed by a new test or listed in
bench/equivalent/<package>.toml with a one-line reason.

Why mutmut 3: it mutates inside functions through trampolines, so one pytest start-up serves every
mutant, and it runs only the tests that executed the mutated function. cosmic-ray restarts the whole
test command per mutant, which with this suite's database fixtures costs seconds each.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "aid": ["chatbot/aid/*"],
    "attendance": ["chatbot/attendance/*"],
    "broadcast": ["chatbot/broadcast/*"],
    "calendar": ["chatbot/calendar/*"],
    "reminders": ["chatbot/reminders/*"],
    "delivery": ["chatbot/delivery/*"],
    "people": ["chatbot/people/*", "chatbot/people/roster/*"],
    "core": [
        "chatbot/core/router.py",
        "chatbot/core/dialogs.py",
        "chatbot/core/payloads.py",
        "chatbot/core/flow.py",
    ],
}
MUTMUT = "mutmut>=3.8,<4"  # also the project's `mutation` extra
# Mutants no test can tell from the original, one file per package (bench/equivalent/<package>.toml:
# "mutant name" = "the reason"). mutmut numbers the mutants of a function in order: an entry is
# re-checked when its function changes.
EQUIVALENT_DIR = ROOT / "bench" / "equivalent"
# In a kept run's folder: the survivors judged again on PostgreSQL (--postgres).
POSTGRES_JUDGED = "postgres-judged.txt"


def load_equivalent() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(EQUIVALENT_DIR.glob("*.toml")):
        found.update(tomllib.loads(path.read_text(encoding="utf-8")))
    return found


# A mutant that makes a test hang (an endless loop) is caught: CI fails on it, and mutmut counts it
# so too. --recheck runs timeouts again, in case the machine was only slow.
KILLED = {"killed", "caught by type check", "timeout"}
_NAME = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+)$")


def package_of(mutant: str) -> str:
    """chatbot.calendar.official.x_day__mutmut_3 → calendar (core for chatbot.core.*)."""
    parts = mutant.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "chatbot" else parts[0]


def scratch_copy(target: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored files), without .venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        relative = Path(raw.decode())
        source = ROOT / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)


def configure(work: Path, patterns: list[str], tests: list[str]) -> None:
    quoted = ", ".join(f'"{p}"' for p in patterns)
    selection = ", ".join(f'"{t}"' for t in tests)
    section = f"""
[tool.mutmut]
source_paths = ["chatbot", "db"]
only_mutate = [{quoted}]
also_copy = ["locales", "bot.py", "bench"]
pytest_add_cli_args = [
    "-p", "no:cacheprovider", "-p", "bench.mutation_plugin",
    "-m", "not slow and not subprocess", "--ignore=tests/test_catalogs.py",
]
pytest_add_cli_args_test_selection = [{selection}]
type_check_command = ["mypy", "--output", "json", "--no-warn-unused-ignores", "chatbot"]
"""
    pyproject = work / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + section, encoding="utf-8")


def list_seeding_functions(work: Path, shared: Path) -> None:
    """seeding.txt for bench/mutation_plugin.py: a mutant of these functions seeds its own county."""
    probe = [sys.executable, "bench/seeding_probe.py", str(shared / "seeding.txt")]
    subprocess.run(probe, cwd=work, check=True, env={**os.environ, "TEST_DATABASE_URL": ""})


def ensure_mutmut() -> Path:
    binary = Path(sys.executable).parent / "mutmut"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", MUTMUT], check=True)
    return binary


def mutmut_env(work: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    if database_url:
        env["TEST_DATABASE_URL"] = database_url
    env["JIAXIAO_SHARED_TEMPLATES"] = str(work / "shared-templates")
    # The random-input tests (tests/core/test_fuzz.py) pin no one behaviour; at their CI size of 150
    # examples a role they made every surviving router mutant cost 14 s.
    env["FUZZ_EXAMPLES"] = "10"
    # mutmut recognises the type checker by the bare word "mypy": the venv's, first on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def statuses_in(work: Path) -> dict[str, str]:
    listing = subprocess.run(
        [str(ensure_mutmut()), "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = {}
    for line in listing.splitlines():
        match = _NAME.match(line)
        if match:
            statuses[match["name"]] = match["status"].strip()
    return statuses


def mutmut_run(
    work: Path, max_children: int, names: list[str] | None = None, database_url: str | None = None
) -> None:
    started = time.perf_counter()
    command = [str(ensure_mutmut()), "run", "--max-children", str(max_children), *(names or [])]
    subprocess.run(command, cwd=work, check=False, env=mutmut_env(work, database_url))
    print(f"mutmut ran for {time.perf_counter() - started:.0f} s in {work}")


def run(patterns: list[str], tests: list[str], max_children: int, keep: bool) -> dict[str, str]:
    work = Path(tempfile.mkdtemp(prefix="jiaxiao-mutation-"))
    try:
        scratch_copy(work)
        configure(work, patterns, tests)
        (work / "shared-templates").mkdir()
        list_seeding_functions(work, work / "shared-templates")
        mutmut_run(work, max_children)
        return statuses_in(work)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def resume(work: Path, max_children: int, recheck: bool) -> dict[str, str]:
    """Finish a kept run; with recheck, judge its survivors again with the tests as they are now."""
    # The code as it is now: mutmut makes new mutants for the functions that changed and keeps the
    # verdicts of the others. Tests and the bench are read from mutants/, where mutmut runs.
    no_bytecode = shutil.ignore_patterns("__pycache__")
    for folder in ("chatbot", "db", "locales"):
        shutil.copytree(ROOT / folder, work / folder, dirs_exist_ok=True, ignore=no_bytecode)
    # mutmut copies a data file (a pack, the lexicon) only once: bring the new ones in place.
    for data in (ROOT / "chatbot").rglob("*"):
        if data.is_file() and data.suffix not in {".py", ".pyc"}:
            target = work / "mutants" / data.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(data, target)
    for folder in ("tests", "bench"):
        for target in (work / folder, work / "mutants" / folder):
            shutil.copytree(ROOT / folder, target, dirs_exist_ok=True, ignore=no_bytecode)
    mutmut_run(work, max_children)
    if recheck:
        equivalent = load_equivalent()
        survivors = [
            name
            for name, status in statuses_in(work).items()
            if status in ("survived", "timeout", "no tests") and name not in equivalent
        ]
        if survivors:
            mutmut_run(work, max_children, survivors)
    return statuses_in(work)


def judge_on_postgres(work: Path, max_children: int) -> dict[str, str]:
    """Judge a kept run's survivors again with the suite on PostgreSQL (TEST_DATABASE_URL).

    The bench runs on SQLite, where code written for PostgreSQL only (COPY, FOR UPDATE SKIP LOCKED,
    SET LOCAL) never runs, and where rows tie in index order whatever the ORDER BY says. A survivor
    that the PostgreSQL suite kills is caught, as it would be in CI; the names judged this way are
    kept in postgres-judged.txt so that the report can say how many were caught there.

    mutmut links a mutant to the tests that ran its function while it collected its statistics, on
    SQLite: code that runs only on PostgreSQL had no test. This pass collects them again on
    PostgreSQL and puts the SQLite ones back afterwards.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        raise SystemExit("--postgres needs TEST_DATABASE_URL (see README: the PostgreSQL test run)")
    equivalent = load_equivalent()
    survivors = [
        name
        for name, status in statuses_in(work).items()
        # A timeout already counts as caught (an endless loop); judging it again costs the whole limit.
        if status in ("survived", "no tests") and name not in equivalent
    ]
    judged = work / POSTGRES_JUDGED
    earlier = set(judged.read_text(encoding="utf-8").split()) if judged.exists() else set()
    judged.write_text("\n".join(sorted(earlier | set(survivors))) + "\n", encoding="utf-8")
    if survivors:
        stats = work / "mutants" / "mutmut-stats.json"
        on_sqlite = stats.with_name("mutmut-stats.sqlite.json")
        if stats.exists():
            stats.replace(on_sqlite)
        try:
            mutmut_run(work, max_children, survivors, database_url=url)
        finally:
            if stats.exists():
                stats.replace(stats.with_name("mutmut-stats.postgres.json"))
            if on_sqlite.exists():
                on_sqlite.replace(stats)
    return statuses_in(work)


def report(statuses: dict[str, str], work: Path | None = None) -> int:
    equivalent = load_equivalent()
    judged = work / POSTGRES_JUDGED if work else None
    on_postgres = set(judged.read_text(encoding="utf-8").split()) if judged and judged.exists() else set()
    by_package: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    stale: list[str] = []
    for name, status in sorted(statuses.items()):
        package = package_of(name)
        if name in equivalent and status in KILLED:
            # A caught mutant is not equivalent: the entry is out of date (its function changed).
            stale.append(f"{name}: {status}")
        elif name in equivalent:
            by_package[package]["equivalent"] += 1
            continue
        by_package[package][status] += 1
        if status not in KILLED:
            survivors[package].append(f"{name}: {status}")
    print(f"{'package':<12} {'mutants':>8} {'killed':>8} {'equiv.':>7} {'other':>7} {'kill rate':>10}")
    worst = 100.0
    for package, counts in sorted(by_package.items()):
        total = sum(counts.values()) - counts["equivalent"]
        killed = sum(counts[s] for s in KILLED)
        rate = 100.0 * killed / total if total else 100.0
        worst = min(worst, rate)
        other = total - killed
        print(
            f"{package:<12} {total + counts['equivalent']:>8} {killed:>8} {counts['equivalent']:>7} "
            f"{other:>7} {rate:>9.1f}%"
        )
    for package, lines in sorted(survivors.items()):
        print(f"\nsurvivors in {package} ({len(lines)}):")
        for line in lines:
            print("  " + line)
    if stale:
        print(f"\nlisted as equivalent but caught, remove from bench/equivalent ({len(stale)}):")
        for line in stale:
            print("  " + line)
    caught_on_postgres = sorted(n for n in on_postgres if statuses.get(n) == "killed")
    if caught_on_postgres:
        print(f"\ncaught only by the suite on PostgreSQL ({len(caught_on_postgres)}):")
        for name in caught_on_postgres:
            print("  " + name)
    print("\nstatuses: " + ", ".join(f"{s}={n}" for s, n in Counter(statuses.values()).most_common()))
    return 0 if worst >= 90.0 else 1


def tests_for(patterns: list[str]) -> list[str]:
    """The test folders of the packages the patterns lie in: chatbot/aid/* → tests/aid.

    A package is measured by its own tests (tests mirror the package): a planted bug must fail a test
    of the package it is in. Tests elsewhere that happen to pass through the code (every attendance
    test calls is_school_day) are not counted, and leaving them out is what makes a whole package fit
    in minutes instead of hours. --all-tests links the whole suite instead.
    """
    folders = set()
    for pattern in patterns:
        parts = Path(pattern).parts
        package = parts[1] if len(parts) > 2 and parts[0] == "chatbot" else ""
        folders.add(f"tests/{package}" if (ROOT / "tests" / package).is_dir() and package else "tests")
    return sorted(folders)


def changed_files() -> list[str]:
    diff = subprocess.run(
        ["git", "diff", "--name-only", "origin/main...HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    names = diff.stdout.split() if diff.returncode == 0 else []
    local = subprocess.run(["git", "diff", "--name-only", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    names += local.stdout.split()
    return sorted({n for n in names if n.startswith("chatbot/") and n.endswith(".py")})


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "packages", nargs="*", help=f"domain packages (default: all of {', '.join(PACKAGES)})"
    )
    parser.add_argument("--files", nargs="+", help="mutate only these files")
    parser.add_argument("--changed", action="store_true", help="mutate only the changed chatbot/ files")
    parser.add_argument(
        "--all-tests", action="store_true", help="link the whole suite, not only the package's own tests"
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="finish a kept run (--keep) in DIR",
    )
    parser.add_argument("--report", type=Path, metavar="DIR", help="print the figures of a kept run in DIR")
    parser.add_argument(
        "--recheck", action="store_true", help="with --resume: judge the survivors again with today's tests"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="with --resume or --report: judge the survivors left again on PostgreSQL (TEST_DATABASE_URL)",
    )
    parser.add_argument("--max-children", type=int, default=2, help="parallel test processes (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (mutmut browse there)")
    args = parser.parse_args()
    unknown = [name for name in args.packages if name not in PACKAGES]
    if unknown:
        parser.error(f"unknown package(s): {', '.join(unknown)}")
    if args.report:
        return report(statuses_in(args.report), args.report)
    if args.resume:
        statuses = resume(args.resume, args.max_children, args.recheck)
        if args.postgres:
            statuses = judge_on_postgres(args.resume, args.max_children)
        return report(statuses, args.resume)
    if args.files:
        patterns = list(args.files)
    elif args.changed:
        patterns = changed_files()
        if not patterns:
            print("no changed chatbot/ files")
            return 0
    else:
        patterns = [p for name in (args.packages or list(PACKAGES)) for p in PACKAGES[name]]
    tests = ["tests"] if args.all_tests else tests_for(patterns)
    print("mutating: " + " ".join(patterns))
    print("measured by: " + " ".join(tests))
    return report(run(patterns, tests, args.max_children, args.keep))


if __name__ == "__main__":
    sys.exit(main())
