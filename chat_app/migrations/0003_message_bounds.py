# Bounded inputs (issue 11): what a user says in the chat holds at most 4,000 characters
# (chat_app.models.MESSAGE_MAX_LENGTH), as chat_app.services has always required.

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat_app', '0002_retention'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='message',
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ('role', 'assistant'),
                    django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('content'), 4000),
                    _connector='OR'),
                name='message_user_content_max_length'),
        ),
    ]
