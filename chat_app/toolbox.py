"""One MCP client session on the tools, bound to a user, recording every call.

The offline assistant and the agent both act through a `ToolSession`: the same
MCP tools an outside client gets, reached in-process with the SDK's own client,
so there is one path from the chat to the data and one record of what was done.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import mcp
from mcp_types import CallToolResult

from .mcp_server import build_server


class ToolFailed(Exception):
    """A tool answered with an error; the message is the tool's, for the user to read."""


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]

    @property
    def failed(self) -> bool:
        return set(self.result) == {"error"}

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "result": self.result}


@dataclass
class ToolSession:
    user: Any
    calls: list[ToolCall] = field(default_factory=list)
    # A "delete/complete these tasks?" staged in this turn (chat_app.confirmations), kept on the reply.
    pending_action: dict[str, Any] | None = None
    _client: mcp.Client | None = None

    async def __aenter__(self) -> ToolSession:
        # Everything this session (one chat message) changes is one action for undo.
        self._client = mcp.Client(build_server(user=self.user, change_group=uuid.uuid4()))
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(*exc_info)

    @property
    def client(self) -> mcp.Client:
        if self._client is None:
            raise RuntimeError("ToolSession is not open")
        return self._client

    async def list_tools(self):
        return await self.client.list_tools()

    async def call_raw(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        """Call a tool and record it; the MCP result is returned as is (errors included)."""
        arguments = dict(arguments or {})
        result = await self.client.call_tool(name, arguments)
        self.calls.append(ToolCall(name=name, arguments=_jsonable(arguments), result=result_as_dict(name, result)))
        return result

    async def call(self, name: str, **arguments: Any) -> dict[str, Any]:
        """Call a tool; its structured result, or ToolFailed with the tool's message."""
        result = await self.call_raw(name, {key: value for key, value in arguments.items() if value is not None})
        recorded = self.calls[-1].result
        if result.is_error:
            raise ToolFailed(recorded["error"])
        return recorded


def result_as_dict(name: str, result: CallToolResult) -> dict[str, Any]:
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    if result.is_error:
        return {"error": text.removeprefix(f"Error executing tool {name}: ")}
    if result.structured_content is not None:
        return result.structured_content
    try:
        return json.loads(text)
    except ValueError:
        return {"text": text}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def describe_call(call: dict[str, Any]) -> str:
    """One line for people: what a tool call did."""
    name, arguments, result = call["name"], call.get("arguments") or {}, call.get("result") or {}
    if "error" in result:
        return f"failed: {result['error']}"
    if name == "quick_add":
        task = result.get("task") or {}
        return f"added #{task.get('id')} “{task.get('title', '')}”"
    task = f"#{result.get('id')} “{result.get('title', '')}”"
    if name == "list_tasks":
        filters = ", ".join(f"{key}={_short(value)}" for key, value in arguments.items())
        count = result.get("count", len(result.get("items", [])))
        return f"found {count} task{'s' if count != 1 else ''}" + (f" ({filters})" if filters else "")
    if name == "update_task":
        changed = [key for key in arguments if key not in {"task_id", "clear"}] + list(arguments.get("clear", []))
        return f"changed {', '.join(changed)} of {task}"
    if name == "list_recurring_tasks":
        count = result.get("count", len(result.get("items", [])))
        return f"listed {count} recurring task{'s' if count != 1 else ''}"
    if name in {"delete_tasks", "complete_tasks"}:
        count = len(result.get("tasks", []))
        return f"asked you to confirm: {name.removesuffix('_tasks')} {count} task{'s' if count != 1 else ''}"
    if name == "undo":
        undone = result.get("undone", [])
        return f"undid {len(undone)} change{'s' if len(undone) != 1 else ''}"
    if name in {"bulk_complete", "bulk_delete", "bulk_update"}:
        items = result.get("items", [])
        if result.get("status") != "done":
            return f"previewed {name.removeprefix('bulk_')} of {len(items)} task{'s' if len(items) != 1 else ''}"
        done = sum(item.get("status") == "done" for item in items)
        return f"{name.removeprefix('bulk_')}: {done} of {len(items)} task{'s' if len(items) != 1 else ''}"
    if name == "list_tags":
        return f"listed {len(result.get('tags', []))} tags"
    if name == "list_notifications":
        return f"listed {len(result.get('items', []))} notifications"
    if name == "snooze_notification":
        return f"snoozed the reminder until {result.get('remind_at')}"
    if name == "set_timezone":
        return f"set the time zone to {result.get('timezone')}"
    verbs = {"add_task": "added", "get_task": "looked at", "complete_task": "completed", "reopen_task": "reopened",
             "delete_task": "deleted"}
    return f"{verbs.get(name, name)} {task}"


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "+".join(str(item) for item in value)
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"
