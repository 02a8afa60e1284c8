"""The phrase corpus: sentences people type, each with what the offline assistant must make of it.

The lines live in chat_app/tests/phrases/corpus.yaml (see docs/assistant.md for how to add one).
Each is read by the grammar alone (`intents.parse`, pure: no database, no tools) with the
line's own "now", time zone and the user's tag names, and what it reads is compared with what
the line expects: the intent and all of its arguments, or the words a "did not understand"
answer must name.  A line may be marked `xfail: reason` (a known failure): it is counted, and
if it starts passing the run says so, so the mark is taken off.

    .venv/bin/python -m chat_app.offline.corpus          # the pass rate, and every failing line
    .venv/bin/python -m chat_app.offline.corpus -v       # every line

The test suite runs it too (chat_app/tests/test_phrase_corpus.py) and prints the same summary.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

CORPUS_PATH = Path(__file__).resolve().parents[1] / "tests" / "phrases" / "corpus.yaml"
# The share of lines that must read as expected; known failures (xfail) count as not passing.
REQUIRED_PASS_RATE = 0.95
KINDS = ("add", "find", "more", "complete", "reopen", "delete", "bulk", "change", "show", "tags", "notifications",
         "help", "timezone", "snooze", "unknown")
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Case:
    line: int
    say: str
    kind: str
    expected: Any
    now: datetime
    tags: tuple[str, ...]
    xfail: str = ""

    @property
    def label(self) -> str:
        return f"line {self.line}: {self.say}"


@dataclass(frozen=True)
class Outcome:
    case: Case
    passed: bool
    got: Any


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.passed and not o.case.xfail]

    @property
    def failed(self) -> list[Outcome]:
        """Lines that read wrongly and are not known failures: each one is a bug (or a wrong line)."""
        return [o for o in self.outcomes if not o.passed and not o.case.xfail]

    @property
    def known_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed and o.case.xfail]

    @property
    def fixed(self) -> list[Outcome]:
        """Lines marked xfail that now pass: take the mark off."""
        return [o for o in self.outcomes if o.passed and o.case.xfail]

    @property
    def pass_rate(self) -> float:
        return len(self.passed) / len(self.outcomes) if self.outcomes else 0.0

    def summary(self) -> str:
        return (f"phrase corpus: {len(self.passed)} of {len(self.outcomes)} lines read as expected "
                f"({self.pass_rate:.1%}; required {REQUIRED_PASS_RATE:.0%}); {len(self.known_failures)} known "
                f"failures (xfail), {len(self.failed)} unexpected failures, {len(self.fixed)} xfail lines now passing")


# --------------------------------------------------------------------------- reading the file


def load(path: Path = CORPUS_PATH) -> list[Case]:
    import yaml  # a test tool (requirements-dev.txt); the assistant itself never reads the corpus

    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    lines = [node.start_mark.line + 1 for key, value in yaml.compose(text).value
             if key.value == "cases" for node in value.value]
    defaults = data.get("defaults") or {}
    cases = []
    for line, entry in zip(lines, data["cases"], strict=True):
        kinds = [kind for kind in KINDS if kind in entry]
        if len(kinds) != 1 or "say" not in entry:
            raise ValueError(f"{path.name} line {line}: a case needs `say` and exactly one of {', '.join(KINDS)}")
        zone = ZoneInfo(entry.get("zone", defaults.get("zone", "UTC")))
        now = datetime.strptime(str(entry.get("now", defaults["now"])), TIME_FORMAT).replace(tzinfo=zone)
        user_tags = tuple(entry.get("user_tags", defaults.get("user_tags", ())))
        cases.append(Case(line=line, say=str(entry["say"]), kind=kinds[0], expected=entry[kinds[0]], now=now,
                          tags=user_tags, xfail=entry.get("xfail", "")))
    return cases


# --------------------------------------------------------------------------- comparing


def _plain(value: Any, zone) -> Any:
    """An intent's value as the corpus writes it: times as "YYYY-MM-DD HH:MM" in the user's zone."""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime(TIME_FORMAT)
    if isinstance(value, dict):
        return {key: _plain(item, zone) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, zone) for item in value]
    return value


def _ref(ref) -> Any:
    """A task reference as the corpus writes it: "it", "#12", "@2" (second listed), "@last", or the title."""
    if ref is None:
        return None
    if ref.kind == "last":
        return "it"
    if ref.kind == "id":
        return f"#{ref.value}"
    if ref.kind == "nth":
        return "@last" if ref.value == -1 else f"@{ref.value}"
    return ref.value


def reading(case: Case):
    """What the grammar makes of the case's sentence, in the corpus's own terms."""
    from .intents import parse

    intent = parse(case.say, case.now, known_tags=case.tags)
    zone = case.now.tzinfo
    fields = _plain(intent.fields, zone)
    if intent.kind in {"complete", "reopen", "delete", "show"}:
        return intent.kind, _ref(intent.ref)
    if intent.kind == "change":
        return intent.kind, {"ref": _ref(intent.ref), **fields}
    if intent.kind == "unknown":
        return intent.kind, intent.note
    if intent.kind in {"more", "tags", "help"}:
        return intent.kind, None
    return intent.kind, fields


def check(case: Case) -> Outcome:
    kind, got = reading(case)
    if kind != case.kind:
        return Outcome(case, False, {kind: got})
    if kind == "unknown":
        # The answer must name what was not understood: every expected word, in any case.
        wanted = case.expected if isinstance(case.expected, list) else [case.expected]
        passed = all(str(word).casefold() in got.casefold() for word in wanted if word is not None)
    elif kind in {"more", "tags", "help"}:
        passed = True
    else:
        passed = got == case.expected
    return Outcome(case, passed, {kind: got})


def run(cases: list[Case] | None = None) -> Report:
    return Report([check(case) for case in (load() if cases is None else cases)])


# --------------------------------------------------------------------------- the command


def _describe(outcome: Outcome) -> str:
    case = outcome.case
    mark = f" [xfail: {case.xfail}]" if case.xfail else ""
    return f"  {case.label}{mark}\n    expected {case.kind}: {case.expected!r}\n    got      {outcome.got!r}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The grammar imports the task models (for the rules written once there), not the database:
    # no connection is made, so any URL will do when none is configured.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    os.environ.setdefault("DATABASE_URL", "postgresql://unused/unused")
    import django

    django.setup()
    report = run()
    shown = report.outcomes if "-v" in argv else report.failed + report.fixed + report.known_failures
    for outcome in shown:
        print(("PASS " if outcome.passed else "FAIL ") + _describe(outcome).lstrip())
    print(report.summary())
    return 0 if not report.failed and report.pass_rate >= REQUIRED_PASS_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
