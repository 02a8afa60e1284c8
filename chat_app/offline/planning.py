"""The offline assistant's planning turns: "what should I do next?" / "plan my day", "when is standup
next?", and saved lists ("show my 'this week at work' list", "save this as 'work this week'").

`parse_planning` is one more parser for intents.parse (tried before the others: these sentences are
specific); `PlanningTurns` carries the intents out through the MCP tools (chat_app.mcp_planning), as a
part of OfflineAssistant.  Kept apart from the grammar of tasks so that each changes on its own.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tasks_app.selectors import due_windows

from ..toolbox import ToolFailed
from . import wording
from .intents import Intent, _ref
from .phrases import unquote

_PLAN = re.compile(
    r"(?:so\s+|ok\s+|okay\s+)?(?:(?:what|which\s+task)\s+(?:should|shall|do|can)\s+i\s+(?:do|work\s+on|start\s+with|"
    r"tackle|focus\s+on)(?:\s+(?:next|now|first|today))*|what(?:'?s|\s+is)?\s+next|what\s+(?:now|first)|"
    r"plan\s+(?:my|the)\s+day|(?:make|give\s+me|show\s+me|what(?:'s|\s+is))\s+(?:a\s+|my\s+)?(?:plan|agenda)"
    r"(?:\s+for\s+today)?|(?:today'?s|my\s+daily|my)\s+(?:plan|agenda)(?:\s+for\s+today)?)(?:\s+please)?", re.I)
_OCCURRENCES = [
    r"when\s+(?:is|are|'s)\s+(?P<ref>.+?)\s+(?:next|due\s+next|coming\s+up|on\s+next|happening\s+next)",
    r"when'?s\s+(?P<ref>.+?)\s+next",
    r"when\s+(?:does|do|will)\s+(?P<ref>.+?)\s+(?:repeat|recur|happen\s+(?:next|again)|come\s+up\s+(?:next|again)|"
    r"come\s+(?:next|again)|next\s+happen)",
    r"(?:show|list|give)\s+(?:me\s+)?(?:the\s+)?(?:next|upcoming)\s+(?:(?P<n>\d{1,2})\s+)?(?:occurrences|dates|times)"
    r"\s+(?:of|for)\s+(?P<ref>.+)",
]
_SAVE = re.compile(
    r"(?:please\s+)?save\s+(?:this|that|it|these|those|this\s+list|that\s+list|the\s+list|this\s+search|"
    r"this\s+filter|them)\s+(?:as|under)\s+(?:a\s+)?(?:(?:saved\s+)?(?:list|filter|view)\s+)?(?:called\s+|named\s+)?"
    r"(?P<name>.+?)(?:\s+(?:list|filter|view))?", re.I)
_SHOW_QUOTED = re.compile(
    r"(?:please\s+)?(?:show|open|list|display|give|get|run)\s+(?:me\s+)?(?:my\s+|the\s+)?(?:saved\s+)?"
    r"(?:(?:list|filter|view)\s+)?(?P<name>'[^']+'|\"[^\"]+\")(?:\s+(?:list|filter|view|tasks))?", re.I)
_SHOW_NAMED = re.compile(
    r"(?:please\s+)?(?:show|open|display|run)\s+(?:me\s+)?my\s+saved\s+(?:list|filter|view)\s+(?P<name>.+)|"
    r"(?:please\s+)?(?:show|open|display|run)\s+(?:me\s+)?my\s+(?P<name2>.+?)\s+(?:saved\s+)?(?:list|filter|view)",
    re.I)
_LIST_SAVED = re.compile(
    r"(?:(?:show|list|what\s+are)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?my\s+|my\s+)?saved\s+(?:lists|filters|views)|"
    r"what\s+(?:lists|filters|views)\s+(?:have\s+i\s+saved|did\s+i\s+save|do\s+i\s+have)", re.I)


def parse_planning(text: str, now: datetime) -> Intent | None:
    if _PLAN.fullmatch(text):
        return Intent("plan")
    for pattern in _OCCURRENCES:
        match = re.fullmatch(pattern, text, re.I)
        if match:
            count = int(match.group("n")) if "n" in match.groupdict() and match.group("n") else 5
            wanted = re.sub(r"^(?:(?:this|next)\s+week'?s|today'?s|the\s+next|my|the)\s+", "", match.group("ref"),
                            flags=re.I)
            return Intent("occurrences", ref=_ref(wanted), fields={"count": max(1, min(count, 20))})
    save = _SAVE.fullmatch(text)
    if save:
        return Intent("save_filter", fields={"name": unquote(save.group("name")).strip()})
    if _LIST_SAVED.fullmatch(text):
        return Intent("saved_filters")
    shown = _SHOW_QUOTED.fullmatch(text) or _SHOW_NAMED.fullmatch(text)
    if shown:
        name = shown.group("name") if shown.group("name") else shown.group("name2")
        return Intent("saved_filter", fields={"name": unquote(name).strip()})
    return None


# --------------------------------------------------------------------------- a list's arguments, saved


def _window_names(now: datetime, week_start: int) -> dict[tuple[str, str], str]:
    """(due_after, due_before) as the grammar writes them for "today", "this week", … → the saved
    filter's relative window, so that a saved "this week" means the week it is shown in."""
    return {(after.isoformat(), before.isoformat()): name
            for name, (after, before) in due_windows(now, week_start).items() if name != "next_7_days"}


def saved_params(arguments: dict[str, Any], *, now: datetime, week_start: int) -> dict[str, Any]:
    """list_tasks arguments (as the chat stored them) as a saved filter's parameters (GET /api/tasks names)."""
    params = {{"priorities": "priority", "tags": "tag"}.get(name, name): value
              for name, value in arguments.items() if name not in ("cursor", "limit")}
    window = _window_names(now, week_start).get((params.get("due_after"), params.get("due_before")))
    if window is not None:
        del params["due_after"], params["due_before"]
        params["due_window"] = window
    return params


def _in_words(params: dict[str, Any], now: datetime) -> str:
    arguments = {{"priority": "priorities", "tag": "tags"}.get(name, name): value for name, value in params.items()}
    words = wording.filters(arguments, now)
    window = params.get("due_window")
    return words + (f" due {window.replace('_', ' ')}" if window else "")


class PlanningTurns:
    """The planning intents carried out (mixed into OfflineAssistant: self.tools, self.now, self.memory)."""

    async def _call_with_name(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """ToolSession.call for tools that take a `name` argument (call's own first parameter)."""
        result = await self.tools.call_raw(tool, {key: value for key, value in arguments.items() if value is not None})
        recorded = self.tools.calls[-1].result
        if result.is_error:
            raise ToolFailed(recorded["error"])
        return recorded

    async def _do_plan(self, intent: Intent) -> Any:
        from .assistant import Reply

        plan = await self.tools.call("plan_today", limit=5)
        if not plan["items"]:
            return Reply("Nothing is overdue or due today, and no P1/P2 task is waiting. Enjoy the day!")
        lines = [f"{item['rank']}. “{item['task']['title']}” (#{item['task']['id']}) — {item['reason']}"
                 for item in plan["items"]]
        return Reply("Here's what I'd do next:\n" + "\n".join(lines))

    async def _do_occurrences(self, intent: Intent) -> Any:
        from .assistant import Reply

        task = await self._resolve(intent.ref, "complete")  # the series' open occurrence, if there is one
        if not task.get("recurrence"):
            due = task.get("due_at")
            when = f"it is due {wording.format_when(datetime.fromisoformat(due), self.now)}" if due else "it has no due date"
            return Reply(f"“{task['title']}” doesn't repeat; {when}.")
        found = await self.tools.call("list_occurrences", task_id=task["id"], count=intent.fields.get("count", 5))
        moments = [wording.format_when(datetime.fromisoformat(moment), self.now) for moment in found["occurrences"]]
        if not moments:
            return Reply(f"“{task['title']}” repeats {found['recurrence_text']}, but its series has ended.")
        return Reply(f"“{task['title']}” repeats {found['recurrence_text']}. Next: " + "; ".join(moments) + ".")

    async def _do_save_filter(self, intent: Intent) -> Any:
        from .assistant import Reply

        last = self.memory.last_list
        if not last:
            return Reply("There's no list to save yet: ask for one first (e.g. “show my work tasks due this week”), "
                         "then say “save this as 'work this week'”.")
        params = saved_params(last["arguments"], now=self.now, week_start=self.week_start)
        saved = await self._call_with_name("save_filter", name=intent.fields["name"], params=params)
        return Reply(f"Saved “{saved['name']}”: {_in_words(saved['params'], self.now)}. "
                     f"Say “show my '{saved['name']}' list” to see it again.")

    async def _do_saved_filter(self, intent: Intent) -> Any:
        from .assistant import Reply

        name = intent.fields["name"]
        try:
            page = await self._call_with_name("show_saved_filter", name=name)
        except ToolFailed:
            saved = (await self.tools.call("list_saved_filters"))["filters"]
            known = ", ".join(f"“{item['name']}”" for item in saved)
            return Reply(f"You have no saved list called “{name}”."
                         + (f" Your saved lists: {known}." if known else " Save one with “save this as …” after a list."))
        body = wording.task_page(page, {}, self.now)
        return Reply(f"Your “{name}” list — " + body[0].lower() + body[1:] if body else body)

    async def _do_saved_filters(self, intent: Intent) -> Any:
        from .assistant import Reply

        saved = (await self.tools.call("list_saved_filters"))["filters"]
        if not saved:
            return Reply("You have no saved lists yet. Ask for a list, then say “save this as 'a name'”.")
        lines = [f"- “{item['name']}”: {_in_words(item['params'], self.now)}" for item in saved]
        return Reply("Your saved lists:\n" + "\n".join(lines))
