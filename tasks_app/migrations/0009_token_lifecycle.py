"""API tokens expire: `expires_at`, set on issue (API_TOKEN_TTL_DAYS).  Tokens issued before
this migration get the full lifetime from the upgrade, so that no client is cut off by it."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def a_full_lifetime_from_now():
    return timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0008_updated_sort"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(default=a_full_lifetime_from_now),
            preserve_default=False,
        ),
    ]
