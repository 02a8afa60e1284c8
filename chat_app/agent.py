"""The chat with a language model: an OpenAI Agents SDK `Agent` over the MCP tools.

Used when OPENAI_API_KEY is set.  OPENAI_BASE_URL (any OpenAI-compatible server:
Ollama, vLLM, …) switches to the Chat Completions API, which those servers speak;
without it the Responses API of OpenAI itself is used.  The agent's tools are the
MCP server's, reached through the SDK's MCP support on the same in-process,
user-bound ToolSession the offline assistant uses.  Earlier messages reach the
model as its history, each with a summary of the tool calls made, so "it" can be
resolved.  Tracing is off: nothing is sent anywhere but to the model.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from agents import (
    Agent,
    Model,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    set_tracing_disabled,
)
from agents.mcp import MCPServer as AgentsMCPServer
from django.conf import settings
from openai import AsyncOpenAI

from .mcp_server import SERVER_NAME
from .models import Message
from .toolbox import ToolSession

# Earlier messages sent along with a new one: enough for "it" and "the second one", bounded in tokens.
HISTORY_MESSAGES = 20

set_tracing_disabled(True)


def configured_model_name() -> str:
    return settings.OPENAI_MODEL


def build_model() -> Model:
    """The model named by OPENAI_MODEL, at OPENAI_BASE_URL when given."""
    client = AsyncOpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
                         timeout=settings.OPENAI_TIMEOUT_SECONDS)
    if settings.OPENAI_BASE_URL:
        return OpenAIChatCompletionsModel(model=settings.OPENAI_MODEL, openai_client=client)
    return OpenAIResponsesModel(model=settings.OPENAI_MODEL, openai_client=client)


def instructions(*, now: datetime, zone_name: str, username: str) -> str:
    return (
        f"You are the assistant of a todo app, talking with {username}. "
        f"Now it is {now:%A %Y-%m-%d %H:%M} in the user's time zone, {zone_name} (UTC offset {now:%z}). "
        "Read and change the user's tasks only with the tools; never invent task ids — look tasks up with "
        "list_tasks (q searches titles, descriptions and tags) and use the ids it returns. When a name matches "
        "more than one task, ask which one. Give due dates as ISO 8601 in the user's time zone; relative dates "
        "(tomorrow, next Friday) are relative to now. Recurrence is an RRULE such as FREQ=WEEKLY or "
        "FREQ=WEEKLY;BYDAY=MO,WE. Priorities: P1 critical/urgent, P2 high, P3 normal, P4 low. "
        "'It' usually means the task talked about last. Answer briefly in plain words and say what you did; "
        "if a tool reports an error, explain it."
    )


class SessionMCPServer(AgentsMCPServer):
    """The SDK's view of an open ToolSession: same tools, same user, same record of calls."""

    def __init__(self, tools: ToolSession):
        super().__init__(use_structured_content=False)
        self.tools = tools

    @property
    def name(self) -> str:
        return SERVER_NAME

    async def connect(self):
        """The ToolSession is opened (and closed) by its owner."""

    async def cleanup(self):
        """See connect()."""

    async def list_tools(self, run_context=None, agent=None):
        return (await self.tools.list_tools()).tools

    async def call_tool(self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None):
        return await self.tools.call_raw(tool_name, arguments or {})

    async def list_prompts(self):
        return await self.tools.client.list_prompts()

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None):
        return await self.tools.client.get_prompt(name, arguments)


async def agent_reply(*, tools: ToolSession, history: list[dict[str, str]], message: str, now: datetime,
                      zone_name: str, username: str, model: Model | None = None) -> str:
    agent = Agent(
        name="Todo assistant",
        instructions=instructions(now=now, zone_name=zone_name, username=username),
        model=model or build_model(),
        mcp_servers=[SessionMCPServer(tools)],
    )
    result = await Runner.run(
        agent,
        input=[*history, {"role": "user", "content": message}],
        max_turns=settings.LLM_MAX_TURNS,
        run_config=RunConfig(tracing_disabled=True, workflow_name="todo-chat"),
    )
    return str(result.final_output or "").strip()


# --------------------------------------------------------------------------- what earlier turns leave behind


def agent_history(messages: list[Message]) -> list[dict[str, str]]:
    """Earlier messages as model input; what tools did is summed up so "it" can be resolved."""
    history = []
    for message in messages[-HISTORY_MESSAGES:]:
        content = message.content
        if message.role == Message.Role.ASSISTANT and message.tool_calls:
            done = "; ".join(f"{call['name']}({json.dumps(call['arguments'], ensure_ascii=False)}) → "
                             f"{_summary(call.get('result') or {})}" for call in message.tool_calls)
            content = f"{content}\n\n[tools used: {done}]"
        history.append({"role": message.role, "content": content})
    return history


def _summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    if "id" in result and "title" in result:
        return f"task #{result['id']} “{result['title']}”" + (" (done)" if result.get("completed") else "")
    if "items" in result:
        shown = ", ".join(f"#{item['id']} “{item.get('title', item.get('message', ''))}”"
                          for item in result["items"][:10])
        return f"{result.get('count', len(result['items']))} found: {shown}"
    # A result of another shape: a bounded slice, so one big answer cannot crowd out the history.
    return json.dumps(result, ensure_ascii=False)[:300]
