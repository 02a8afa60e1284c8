"""Bounds that the settings module needs before Django is set up.

Plain constants, no Django imports: todo_project.settings reads them to refuse a
configured limit the database cannot hold, and tasks_app.models writes them into
check constraints.  The other bounds (title, tag, reminder) live in tasks_app.models.
"""

# The database's ceiling for a task description (CHECK task_description_max_length);
# TASK_DESCRIPTION_MAX_LENGTH (default 10,000) may be set anywhere up to it.  Sized so that
# the largest event (an update carries the description three times, up to 4 bytes a
# character) stays well under Kafka's default 1 MB message size.
TASK_DESCRIPTION_MAX_LENGTH_CEILING = 50_000
