"""`manage.py chat`: one chat turn from the terminal, as a given user, through the same service as the
chat page and `POST /api/chat` (`--json` prints the tool calls too)."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chat_app import selectors, services
from chat_app.models import Conversation
from chat_app.toolbox import describe_call


class Command(BaseCommand):
    help = ("Say MESSAGE to the chat assistant as USER, as POST /api/chat does, and print its reply. "
            "Quote the message or let the words be joined: chat --user demo add buy milk tomorrow")

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the username to act as")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the API's response object")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--conversation", type=int, help="continue this conversation (its id)")
        group.add_argument("--continue", dest="continue_latest", action="store_true",
                           help="continue the user's most recent conversation")
        parser.add_argument("message", nargs="+", help="what to say")

    def handle(self, *args, user, as_json, conversation, continue_latest, message, **options):
        try:
            account = get_user_model().objects.get(username=user, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no active user named {user!r}") from None
        if continue_latest:
            latest = selectors.conversation_latest(user=account)
            conversation = latest.pk if latest else None
        try:
            turn = services.chat_send(user=account, message=" ".join(message), conversation_id=conversation)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except Conversation.DoesNotExist:
            raise CommandError(f"{user} has no conversation {conversation}") from None
        if as_json:
            self.stdout.write(json.dumps({"conversation_id": turn.conversation_id, "reply": turn.reply,
                                        "tool_calls": turn.tool_calls}, ensure_ascii=False, indent=2))
            return
        self.stdout.write(turn.reply)
        for call in turn.tool_calls:
            self.stdout.write(f"  · {call['name']}: {describe_call(call)}")
        self.stdout.write(self.style.HTTP_INFO(f"(conversation {turn.conversation_id}; continue with "
                                               f"--conversation {turn.conversation_id})"))

