"""Deleting or completing several tasks waits for the user's "yes" in the conversation.

A request that would delete or complete more than one task (the offline assistant's "delete all
completed tasks", the agent's delete_tasks/complete_tasks) does nothing at once: it answers with a
preview and leaves a pending action on the assistant's message.  Only the USER's next message can
carry it out, and only when it is a plain yes: `chat_send` checks that here, on the server, before
any model is asked, so neither the model nor text inside a task (a prompt injection) can confirm.
Anything else cancels it; an action older than CHAT_CONFIRMATION_TTL_SECONDS has expired.  A
confirmed action touches exactly the previewed tasks, and skips (and names) those that are gone,
were changed since the preview, or are already done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from .models import Message
from .toolbox import ToolFailed, ToolSession, result_as_dict

# One preview covers at most a page of the tools' largest size; more is asked for in parts.
MAX_TASKS_PER_ACTION = 200
KIND = "confirm"
ACTIONS = {
    # action: (the single-task tool that carries it out, past tense, the bulk tool the agent stages it with)
    "delete": ("delete_task", "deleted", "delete_tasks"),
    "complete": ("complete_task", "completed", "complete_tasks"),
}
BULK_TOOLS = {bulk: action for action, (_, _, bulk) in ACTIONS.items()}
DESTRUCTIVE_SINGLE_TOOLS = {single for single, _, _ in ACTIONS.values()}
# The MCP bulk tools (chat_app.bulk_actions): in the chat they only preview; the user's yes carries
# out the previewed set with the preview's confirmation.
MCP_BULK_TOOLS = {"bulk_complete": "complete", "bulk_delete": "delete", "bulk_update": "update"}
PAST = {**{action: past for action, (_, past, _) in ACTIONS.items()}, "update": "changed"}

# A plain yes and nothing else: "ok thanks" or "yes but only the first" is not a confirmation.
_YES = re.compile(r"(?:yes|y|yep|yeah|yup|confirm|confirmed|i\s+confirm|go\s+ahead)"
                  r"(?:\s*,?\s*(?:please|do\s+it|go\s+ahead|confirm(?:ed)?))?[.!\s]*", re.I)
_NO = re.compile(r"(?:no|n|nope|nah|cancel|stop|abort|don't|do\s+not|never\s*mind|nevermind)\b.*", re.I)


def pending_action(*, action: str, tasks: list[dict[str, Any]], now: datetime,
                   confirmation: str | None = None) -> dict[str, Any]:
    """What Message.pending keeps until the user answers: the exact tasks as they were shown (and,
    from an MCP bulk tool's preview, its confirmation, which carries the same tasks and the changes)."""
    return {
        **({"confirmation": confirmation} if confirmation else {}),
        "kind": KIND,
        "action": action,
        "tasks": [{"id": task["id"], "title": task["title"], "updated_at": str(task["updated_at"])}
                  for task in tasks[:MAX_TASKS_PER_ACTION]],
        "expires_at": (now + timedelta(seconds=settings.CHAT_CONFIRMATION_TTL_SECONDS)).isoformat(),
    }


def is_confirmation(pending: dict[str, Any] | None) -> bool:
    return bool(pending) and pending.get("kind") == KIND


def pending_in(messages: list[Message]) -> dict[str, Any] | None:
    """The action the conversation's last message (the assistant's) waits to have confirmed."""
    if messages and messages[-1].role == Message.Role.ASSISTANT and is_confirmation(messages[-1].pending):
        return messages[-1].pending
    return None


def preview(pending: dict[str, Any], *, total: int | None = None) -> str:
    """The question the user answers: which tasks, how many, and how to say yes."""
    tasks, verb = pending["tasks"], pending["action"]
    count = len(tasks)
    lines = [f"This would {verb} {count} task{'s' if count != 1 else ''}:"]
    lines += [f"• #{task['id']} “{task['title']}”" for task in tasks[:20]]
    if count > 20:
        lines.append(f"• … and {count - 20} more")
    if total is not None and total > count:
        lines.append(f"({total} match; at most {count} at a time.)")
    lines.append(f"Reply “yes” to {verb} {'them' if count != 1 else 'it'}, or anything else to cancel. "
                 f"Nothing has been {PAST[verb]} yet.")
    return "\n".join(lines)


@dataclass
class Answer:
    """What the user's message did to a pending action.  `reply` is None when the message is to be
    answered as a new request (the action is then cancelled and `note` says so)."""

    reply: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


async def answer(*, user, pending: dict[str, Any], text: str, now: datetime) -> Answer:
    verb, count = pending["action"], len(pending["tasks"])
    what = f"{count} task{'s' if count != 1 else ''}"
    said_yes, said_no = bool(_YES.fullmatch(text.strip())), bool(_NO.fullmatch(text.strip()))
    if datetime.fromisoformat(pending["expires_at"]) <= now:
        if said_yes or said_no:
            return Answer(f"That request to {verb} {what} has expired, so nothing was {PAST[verb]}. "
                          "Ask again to see a fresh list.")
        return Answer()
    if said_no:
        return Answer(f"Cancelled: nothing was {PAST[verb]}.")
    if not said_yes:
        return Answer(note=f"(I did not {verb} the {what}: that needed a “yes”.)")
    async with ToolSession(user) as tools:
        if "confirmation" in pending:
            done, skipped = await _carry_out_confirmed(tools, pending)
        else:
            done, skipped = await _carry_out(tools, pending)
    return Answer(_outcome_text(verb, done, skipped), calls=[call.as_dict() for call in tools.calls])


async def _carry_out(tools: ToolSession, pending: dict[str, Any]) -> tuple[list[dict], list[tuple[dict, str]]]:
    """Each previewed task, as the conversation's user, if it is still as it was shown."""
    single_tool, past, _ = ACTIONS[pending["action"]]
    done, skipped = [], []
    for shown in pending["tasks"]:
        # Looked up unrecorded: the conversation keeps what was done, not the checks before it.
        lookup = await tools.client.call_tool("get_task", {"task_id": shown["id"]})
        if lookup.is_error:
            skipped.append((shown, "no longer exists"))
            continue
        current = result_as_dict("get_task", lookup)
        if datetime.fromisoformat(current["updated_at"]) != datetime.fromisoformat(shown["updated_at"]):
            skipped.append((shown, "was changed after the preview"))
            continue
        if single_tool == "complete_task" and current.get("completed"):
            skipped.append((shown, "is already done"))
            continue
        try:
            done.append(await tools.call(single_tool, task_id=shown["id"]))
        except ToolFailed as failed:
            skipped.append((shown, f"could not be {past}: {failed}"))
    return done, skipped


async def _carry_out_confirmed(tools: ToolSession, pending: dict[str, Any]) -> tuple[list[dict], list[tuple[dict, str]]]:
    """The previewed tasks, by the bulk tool's own confirmation (it skips those changed since)."""
    try:
        result = await tools.call(f"bulk_{pending['action']}", confirm=pending["confirmation"])
    except ToolFailed as failed:
        return [], [(shown, f"could not be {PAST[pending['action']]}: {failed}") for shown in pending["tasks"]]
    done = [item for item in result["items"] if item["status"] == "done"]
    reasons = {"changed since the preview": "was changed after the preview", "not found": "no longer exists"}
    skipped = [(item, reasons.get(item["reason"], f"is {item['reason']}")) for item in result["items"]
               if item["status"] != "done"]
    return done, skipped


def _outcome_text(verb: str, done: list[dict], skipped: list[tuple[dict, str]]) -> str:
    past = PAST[verb]
    lines = [f"{past.capitalize()} {len(done)} task{'s' if len(done) != 1 else ''}"
             + (": " + ", ".join(f"“{task['title']}”" for task in done[:10]) if done else "")
             + (f" and {len(done) - 10} more" if len(done) > 10 else "") + "."]
    for task, reason in skipped[:10]:
        lines.append(f"Skipped #{task['id']} “{task['title']}”: it {reason}.")
    if len(skipped) > 10:
        lines.append(f"Skipped {len(skipped) - 10} more.")
    return "\n".join(lines)
