""""undo", "undo that", "undo the last 3": the offline assistant's undo, read and answered.

Kept apart from the grammar (intents.py) and its wording (wording.py): one small parser that
intents.parse tries before "undo <task>" (which reopens a task), and the reply's words.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from . import phrases

_UNDO = re.compile(
    r"(?:please\s+)?(?:undo|revert|reverse|take\s+back|roll\s*back)"
    r"(?:\s+(?:it|that|this|what\s+you\s+(?:just\s+)?did|(?:my|your|the)\s+last\s+(?:change|action|one|step)|"
    r"the\s+last\s+(?:change|action|step)|(?:the\s+)?(?:last|latest)\s+(?P<n>" + phrases.NUM + r")"
    r"(?:\s+(?:changes|actions|steps|ones|things))?))?(?:\s+please)?[.!]*",
    re.I)
_OOPS = re.compile(r"(?:(?:oops|whoops|oh\s+no)[,.!]*\s*)?(?:undo(?:\s+(?:it|that))?|take\s+(?:it|that)\s+back)"
                   r"(?:\s+please)?[.!]*", re.I)


def parse_undo(text: str, now: datetime):
    """An "undo" intent with fields {"count": n}, or None."""
    from .intents import Intent  # intents imports this parser

    match = _UNDO.fullmatch(text) or _OOPS.fullmatch(text)
    if match is None:
        return None
    count = phrases.number(match.group("n")) if match.re is _UNDO and match.group("n") else 1
    return Intent("undo", fields={"count": count})


def undone(result: dict[str, Any]) -> str:
    items = result.get("undone", [])
    lines = [f"Undone ({len(items)} change{'s' if len(items) != 1 else ''}):"]
    words = {"deleted": "removed", "reopened": "open again", "completed": "done again", "restored": "restored",
             "changed back": "changed back"}
    for item in items[:20]:
        lines.append(f"• “{item['title']}”: {words.get(item['now'], item['now'])}")
    if len(items) > 20:
        lines.append(f"• … and {len(items) - 20} more")
    return "\n".join(lines)
