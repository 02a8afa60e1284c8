from django.db import migrations, models

# remind_at follows a snooze: the snoozed time while one is set, due_at - lead time otherwise.  A new due
# date or lead time is a new reminder, so it drops the snooze (whatever write path changed them).
REMIND_AT_SQL = """
CREATE OR REPLACE FUNCTION tasks_app_task_remind_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.due_at IS DISTINCT FROM OLD.due_at
                             OR NEW.reminder_minutes_before IS DISTINCT FROM OLD.reminder_minutes_before) THEN
        NEW.snoozed_until := NULL;
    END IF;
    NEW.remind_at := CASE
        WHEN NEW.due_at IS NULL OR NEW.reminder_minutes_before IS NULL THEN NULL
        WHEN NEW.snoozed_until IS NOT NULL THEN NEW.snoozed_until
        ELSE NEW.due_at - make_interval(mins => NEW.reminder_minutes_before)
    END;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS task_remind_at ON tasks_app_task;
CREATE TRIGGER task_remind_at
    BEFORE INSERT OR UPDATE OF due_at, reminder_minutes_before, remind_at, snoozed_until ON tasks_app_task
    FOR EACH ROW EXECUTE FUNCTION tasks_app_task_remind_at();
"""

# Back to 0003_events' trigger (the column is dropped after this runs backwards).
REMIND_AT_REVERSE_SQL = """
CREATE OR REPLACE FUNCTION tasks_app_task_remind_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.remind_at := CASE
        WHEN NEW.due_at IS NULL OR NEW.reminder_minutes_before IS NULL THEN NULL
        ELSE NEW.due_at - make_interval(mins => NEW.reminder_minutes_before)
    END;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS task_remind_at ON tasks_app_task;
CREATE TRIGGER task_remind_at
    BEFORE INSERT OR UPDATE OF due_at, reminder_minutes_before, remind_at ON tasks_app_task
    FOR EACH ROW EXECUTE FUNCTION tasks_app_task_remind_at();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('tasks_app', '0011_profile'),
    ]

    operations = [
        migrations.AddField(
            model_name='task',
            name='snoozed_until',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(REMIND_AT_SQL, REMIND_AT_REVERSE_SQL),
    ]
