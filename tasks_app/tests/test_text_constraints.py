"""The database itself refuses over-long text, whatever path writes it (raw ORM, admin, bulk load)."""

import pytest
from django.db import DataError, IntegrityError, transaction

from chat_app.models import MESSAGE_MAX_LENGTH, Conversation, Message
from tasks_app.limits import TASK_DESCRIPTION_MAX_LENGTH_CEILING
from tasks_app.models import TAG_MAX_LENGTH, TITLE_MAX_LENGTH, Tag, Task

pytestmark = pytest.mark.django_db


def test_a_description_over_the_ceiling_is_refused_by_the_database(alice):
    Task.objects.create(user=alice, title="fits", description="d" * TASK_DESCRIPTION_MAX_LENGTH_CEILING)
    with pytest.raises(IntegrityError, match="task_description_max_length"), transaction.atomic():
        Task.objects.create(user=alice, title="too long", description="d" * (TASK_DESCRIPTION_MAX_LENGTH_CEILING + 1))
    task = Task.objects.get(title="fits")
    with pytest.raises(IntegrityError, match="task_description_max_length"), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(description="é" * (TASK_DESCRIPTION_MAX_LENGTH_CEILING + 1))
    # The other task texts are bounded columns (varchar).
    for model, field, length in ((Task, "title", TITLE_MAX_LENGTH), (Tag, "name", TAG_MAX_LENGTH)):
        with pytest.raises(DataError), transaction.atomic():
            model.objects.create(user=alice, **{field: "x" * (length + 1)})


def test_a_user_chat_message_over_the_limit_is_refused_by_the_database(alice):
    conversation = Conversation.objects.create(user=alice)
    Message.objects.create(conversation=conversation, role="assistant", content="r" * (MESSAGE_MAX_LENGTH + 1))
    with pytest.raises(IntegrityError, match="message_user_content_max_length"), transaction.atomic():
        Message.objects.create(conversation=conversation, role="user", content="m" * (MESSAGE_MAX_LENGTH + 1))
