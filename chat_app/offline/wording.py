"""Every sentence the offline assistant says, and how it writes tasks, lists and times.

The turn engine (`assistant.py`) decides what happened; this module only words
it, so a reply can be rephrased without touching what the assistant does.  Pure:
tasks arrive as the MCP tools' JSON, times are shown in `now`'s zone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tasks_app import recurrence

HELP = (
    "I can add tasks (“Add a P1 task called 'Send invoice' due tomorrow 5pm tagged work”), "
    "list and search them (“show my P1 tasks tagged work sorted by due date”, “what's overdue?”, "
    "“find tasks about the report”, “show my recurring tasks”, “what has a reminder?”, “recently changed”), and complete, reopen, delete, rename or change them "
    "(“mark 'Send invoice' as done”, “move it to Friday”, “make it urgent”, “tag it with finance”). "
    "Ask “what should I do next?” for a plan, save a list (“save this as 'work this week'”), "
    "and say “undo” (or “undo the last 3”) to take a change back; changes to more than 3 tasks "
    "are shown to you first and wait for your yes."
)
# A chat bubble, not a report: longer lists are paged with "show more".
MAX_LISTED = 20

# What was not understood, said after "Sorry, I didn't understand …".
EMPTY_MESSAGE = "an empty message"
UNCLEAR_TITLE = "what the new task should be called (put the title in quotes: add 'Buy milk' tomorrow)"

CANCELLED = "OK, I've left it."
NOTHING_MORE = "There is nothing more to show. Ask for a list first, e.g. “show my tasks”."
UNSURE_WHICH = "I'm not sure which task you mean. Name it, e.g. “mark 'Buy milk' as done”."
NO_TAGS = "You have no tags yet."
NO_LIST_FOR_PLACE = ("I haven't shown you a list in this conversation, so I don't know which one you mean. "
                     "Ask for one first (“show my tasks”), or name the task.")


def no_such_place(place: int, count: int) -> str:
    return f"The last list I showed has {count} task{'s' if count != 1 else ''}, so there is no number {place} in it."

_SORT_ORDERS = {"due_at": "soonest due first", "-due_at": "latest due first", "priority": "P1 first",
                "-priority": "P4 first", "created_at": "oldest first", "-created_at": "newest first",
                "title": "by title", "-updated_at": "most recently changed first",
                "updated_at": "least recently changed first", "relevance": "best match first"}


def quoted(text: str) -> str:
    return f"“{text}”"


def unclear_priority(words: str) -> str:
    return f"the priority “{words}” (use P1–P4, urgent, high or low)"


def unclear_when(words: str) -> str:
    return f"“{words}” as a date or time"


def unclear_tags(words: str) -> str:
    return f"which tag “{words}” means (name it: tagged work, or #work)"


def misspelled_day(words: str, meant: str) -> str:
    return f"“{words}” (did you mean {meant}?)"


def unread_words(words: str) -> str:
    return (f"“{words}” next to the title, so I added nothing (say it again without it, or put it inside "
            "the title's quotes)")


# --------------------------------------------------------------------------- times


def format_when(at: datetime, now: datetime) -> str:
    at = at.astimezone(now.tzinfo)
    day = f"{at:%a} {at.day} {at:%b}" + (f" {at.year}" if at.year != now.year else "")
    return f"{day}, {at:%H:%M}"


def format_minutes(minutes: int) -> str:
    if minutes == 0:
        return "at the due time"
    for size, name in ((10080, "week"), (1440, "day"), (60, "hour")):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {name}{'s' if count != 1 else ''} before"
    return f"{minutes} minute{'s' if minutes != 1 else ''} before"


# --------------------------------------------------------------------------- tasks and lists


def task(task: dict[str, Any], now: datetime) -> str:
    """“Buy milk” (#3; P2, due Thu 26 Nov, 17:00, #errands, weekly, reminder 30 minutes before)."""
    details = [task.get("priority", "P3")]
    if task.get("due_at"):
        details.append("due " + format_when(datetime.fromisoformat(task["due_at"]), now))
    if task.get("tags"):
        details.append(" ".join(f"#{tag}" for tag in task["tags"]))
    if task.get("recurrence"):
        details.append(task.get("recurrence_text") or recurrence.describe(task["recurrence"]))
    if task.get("reminder_minutes_before") is not None:
        details.append("reminder " + format_minutes(task["reminder_minutes_before"]))
    if task.get("completed"):
        details.append("done")
    return f"“{task['title']}” (#{task['id']}; {', '.join(details)})"


def _numbered(tasks: list[dict[str, Any]], now: datetime) -> list[str]:
    return [f"{index}. {task(item, now)}" for index, item in enumerate(tasks, start=1)]


def task_page(page: dict[str, Any], arguments: dict[str, Any], now: datetime, *, more: bool = False) -> str:
    what = filters(arguments, now)
    items = page["items"]
    if not items:
        return f"No {what}." if not more else "That was all."
    count = page["count"]
    head = (f"{count} {what}" if count != 1 else f"1 {what.replace('tasks', 'task', 1)}")
    sort = arguments.get("sort")
    if sort:
        head += ", " + _SORT_ORDERS.get(sort, f"sorted by {sort}")
    text = (head if not more else "More " + what) + ":\n" + "\n".join(_numbered(items[:MAX_LISTED], now))
    if page.get("next_cursor"):
        text += "\nThere are more: say “show more”."
    return text


def filters(arguments: dict[str, Any], now: datetime) -> str:
    """The list_tasks arguments in words: "open P1 tasks tagged work due before Fri 27 Nov, 09:00"."""
    words = []
    if arguments.get("overdue"):
        words.append("overdue")
    elif arguments.get("completed") is False:
        words.append("open")
    elif arguments.get("completed") is True:
        words.append("completed")
    if arguments.get("priorities"):
        words.append("/".join(arguments["priorities"]))
    if arguments.get("recurring") is True:
        words.append("recurring")
    elif arguments.get("recurring") is False:
        words.append("one-off")
    text = " ".join(words + ["tasks"])
    if arguments.get("tags"):
        text += " tagged " + " and ".join(arguments["tags"])
    if arguments.get("q"):
        text += f" matching “{arguments['q']}”"
    if arguments.get("has_due") is False:
        text += " without a due date"
    elif arguments.get("has_due") is True:
        text += " with a due date"
    if arguments.get("has_reminder") is False:
        text += " without a reminder"
    elif arguments.get("has_reminder") is True:
        text += " with a reminder"
    # Fresh intents carry datetimes; the arguments of a stored list (for "show more") carry ISO strings.
    after, before = arguments.get("due_after"), arguments.get("due_before")
    after = datetime.fromisoformat(after) if isinstance(after, str) else after
    before = datetime.fromisoformat(before) if isinstance(before, str) else before
    if after and before:
        text += f" due between {format_when(after, now)} and {format_when(before, now)}"
    elif before:
        text += f" due before {format_when(before, now)}"
    elif after:
        text += f" due after {format_when(after, now)}"
    return text


def which_one(candidates: list[dict[str, Any]], now: datetime) -> str:
    return ("More than one task matches. Which one do you mean?\n" + "\n".join(_numbered(candidates, now))
            + "\nReply with its number (or “cancel”).")


def tags(tags: list[dict[str, Any]]) -> str:
    listed = ", ".join(f"#{tag['name']} ({tag['task_count']})" for tag in tags)
    return f"Your tags: {listed}."


def notifications(items: list[dict[str, Any]], *, unread_only: bool, now: datetime) -> str:
    if not items:
        return "No unread notifications." if unread_only else "No notifications."
    lines = [f"• {item['message']} ({format_when(datetime.fromisoformat(item['created_at']), now)})"
             + ("" if item.get("read_at") else " — new") for item in items]
    return f"{len(items)} notification{'s' if len(items) != 1 else ''}:\n" + "\n".join(lines)


# --------------------------------------------------------------------------- replies


def help_reply(note: str) -> str:
    """A greeting is greeted, thanks are answered, a question for help gets the help."""
    if re.match(r"thank", note, re.I):
        return "You're welcome!"
    greeting = "" if re.match(r"(?:help|\?|what|how|commands)", note, re.I) else "Hello! "
    return greeting + HELP


def not_understood(note: str) -> str:
    return f"Sorry, I didn't understand {note}. {HELP}"


def tool_failed(message: Any) -> str:
    return f"I couldn't do that: {message}."


def no_task_numbered(task_id: Any) -> str:
    return f"I couldn't find task #{task_id}."


def no_task_matching(wanted: str) -> str:
    return f"I couldn't find a task matching “{wanted}”."


def added(task_json: dict[str, Any], now: datetime) -> str:
    extra = ""
    if task_json.get("reminder_minutes_before") is not None and not task_json.get("due_at"):
        extra = " It has no due date yet, so the reminder waits until it gets one."
    return f"Added {task(task_json, now)}.{extra}"


def details(task_json: dict[str, Any], now: datetime) -> str:
    lines = [task(task_json, now)]
    if task_json.get("description"):
        lines.append(task_json["description"])
    lines.append("Done." if task_json.get("completed") else "Not done yet.")
    return "\n".join(lines)


def already_done(task_json: dict[str, Any]) -> str:
    return f"“{task_json['title']}” was already done."


def completed(done: dict[str, Any]) -> str:
    text = f"Marked “{done['title']}” as done."
    if done.get("recurrence"):
        text += (f" It repeats {done.get('recurrence_text') or recurrence.describe(done['recurrence'])}, so the next one will appear "
                 "in your list in a moment.")
    return text


def not_done(task_json: dict[str, Any]) -> str:
    return f"“{task_json['title']}” is not done, so there is nothing to reopen."


def reopened(task_json: dict[str, Any]) -> str:
    return f"Reopened “{task_json['title']}”."


def deleted(task_json: dict[str, Any]) -> str:
    return f"Deleted “{task_json['title']}”."


def missing_tags(task_json: dict[str, Any], missing: list[str]) -> str:
    return f"“{task_json['title']}” has no tag {', '.join('#' + t for t in missing)}."


def updated(before: dict[str, Any], fields: dict[str, Any], new_tags: list[str] | None, after: dict[str, Any],
            now: datetime) -> str:
    """What a change did, in the order the fields are listed; `new_tags` is None when the tags stayed."""
    said: list[str] = []
    if "title" in fields:
        said.append(f"renamed it to “{fields['title']}”")
    if "priority" in fields:
        said.append(f"set its priority to {fields['priority']}")
    if "due_at" in fields:
        if fields["due_at"] is None:
            said.append("removed its due date")
        else:
            said.append(f"moved it to {format_when(fields['due_at'], now)}")
    if new_tags is not None:
        said.append("tagged it " + (" ".join(f"#{t}" for t in new_tags) if new_tags
                                    else "with nothing (all tags removed)"))
    return f"Updated “{before['title']}”: {', '.join(said)}. Now: {task(after, now)}."


# --------------------------------------------------------------------------- time zone


def current_timezone(now: datetime) -> str:
    return (f"Your time zone is {now.tzinfo} (it's {now:%H:%M} there). Say “set my time zone to Europe/Berlin” "
            "to change it.")


def unknown_timezone(written: str) -> str:
    return (f"I don't know a time zone called “{written}”, so I left yours as it is. Use an IANA name such as "
            "Europe/Berlin, America/New_York or UTC (or a city such as Tokyo).")


def timezone_changed(change: dict[str, Any]) -> str:
    zone, previous = change["timezone"], change["previous_timezone"]
    if zone == previous:
        return f"Your time zone already is {zone}; nothing changed."
    local = datetime.fromisoformat(change["local_time"])
    return (f"Done: your time zone is now {zone} (it was {previous}); it's {local:%H:%M} there. Your due dates "
            f"keep their moment in time and are shown in {zone} from now on, and times you give me are read in it.")


# --------------------------------------------------------------------------- snooze

NOTHING_TO_SNOOZE = "There is no reminder to snooze."


def snoozed(notification: dict[str, Any], result: dict[str, Any], now: datetime) -> str:
    again = datetime.fromisoformat(result["remind_at"]).astimezone(now.tzinfo)
    return f"Snoozed “{notification['message']}”: I'll remind you again at {again:%H:%M}."
