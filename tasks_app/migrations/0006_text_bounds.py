# Bounded inputs (issue 11): a task description holds at most 50,000 characters (the ceiling of
# TASK_DESCRIPTION_MAX_LENGTH; tasks_app.limits).  The other text columns are varchar(n) already.

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

CEILING = 50_000  # tasks_app.limits.TASK_DESCRIPTION_MAX_LENGTH_CEILING when this was written

# Descriptions stored before the bound (the API accepted megabytes) are cut to it: a row the
# constraint refuses could no longer be changed at all, not even completed.  The constraint is
# added NOT VALID and then validated, so the table is not locked against writes while it is scanned.
SQL = f"""
UPDATE tasks_app_task SET description = left(description, {CEILING}) WHERE length(description) > {CEILING};
ALTER TABLE tasks_app_task ADD CONSTRAINT task_description_max_length
    CHECK (length(description) <= {CEILING}) NOT VALID;
ALTER TABLE tasks_app_task VALIDATE CONSTRAINT task_description_max_length;
"""
REVERSE_SQL = "ALTER TABLE tasks_app_task DROP CONSTRAINT IF EXISTS task_description_max_length;"


class Migration(migrations.Migration):

    dependencies = [
        ('tasks_app', '0005_task_series'),
    ]

    operations = [
        migrations.RunSQL(
            SQL,
            REVERSE_SQL,
            state_operations=[
                migrations.AddConstraint(
                    model_name='task',
                    constraint=models.CheckConstraint(
                        condition=django.db.models.lookups.LessThanOrEqual(
                            django.db.models.functions.text.Length('description'), CEILING),
                        name='task_description_max_length'),
                ),
            ],
        ),
    ]
