"""The index behind sort=updated_at / -updated_at (selectors.task_list): one user's tasks by last
change, ties by id, read in order for keyset pages."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tasks_app", "0007_retention"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["user", "-updated_at", "-id"], name="task_user_updated"),
        ),
    ]
