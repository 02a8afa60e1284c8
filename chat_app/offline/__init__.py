"""The built-in assistant used when no language model is configured (no OPENAI_API_KEY).

It reads everyday English deterministically: `phrases` finds dates, priorities,
tags, reminders and recurrences in a sentence, `intents` parses a message into
what is asked, `assistant` carries it out through the same MCP tools the agent
uses and remembers the conversation, and `wording` says what happened.  What it
cannot read it says so, rather than guessing.
"""
