"""Full-text search over tasks: a stored `search_vector` kept current by triggers.

Why triggers and not a generated column: the vector includes the task's tag
names, which live in other tables, and a generated column can only read its own
row.  One SQL function computes a task's vector; every write path reaches it:

* a task is inserted, or its title, description (or search_vector) is written:
  the BEFORE row trigger on tasks_app_task computes it;
* tags are added to or removed from a task (rows of the M2M table), or a tag is
  renamed: statement triggers set search_vector = NULL on the tasks concerned,
  which fires the row trigger above, so there is a single place that computes.

The text-search configuration (settings.SEARCH_CONFIG) is stored in the
database as the IMMUTABLE function tasks_app_search_config(), read by the
triggers and by the queries in tasks_app.selectors, so documents and queries
cannot disagree; `manage.py search_reindex` changes it later.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.conf import settings
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations


def config_function_sql(schema_editor, config: str) -> str:
    # A text literal inside a function body cannot be a bound parameter; quote it.
    literal = schema_editor.quote_value(config)
    return f"""
        CREATE OR REPLACE FUNCTION tasks_app_search_config() RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT {literal}::regconfig $$;
    """


TRIGGERS_SQL = """
CREATE FUNCTION tasks_app_task_search_vector(p_task_id bigint, p_title text, p_description text)
RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector(tasks_app_search_config(), coalesce(p_title, '')), 'A')
        || setweight(to_tsvector(tasks_app_search_config(), coalesce(p_description, '')), 'B')
        || setweight(to_tsvector(tasks_app_search_config(), coalesce(
               (SELECT string_agg(tag.name, ' ')
                  FROM tasks_app_task_tags link JOIN tasks_app_tag tag ON tag.id = link.tag_id
                 WHERE link.task_id = p_task_id), '')), 'C')
$$;

CREATE FUNCTION tasks_app_task_search_vector_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := tasks_app_task_search_vector(NEW.id, NEW.title, NEW.description);
    RETURN NEW;
END $$;

-- search_vector is in the column list so that any write of it (an ORM save of a
-- stale value, the statement triggers below) ends up recomputed.
CREATE TRIGGER task_search_vector
    BEFORE INSERT OR UPDATE OF title, description, search_vector ON tasks_app_task
    FOR EACH ROW EXECUTE FUNCTION tasks_app_task_search_vector_row();

CREATE FUNCTION tasks_app_task_tags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Statement-level: one UPDATE however many links a `task.tags.set()` wrote.
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE tasks_app_task SET search_vector = NULL WHERE id IN (SELECT task_id FROM new_links);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE tasks_app_task SET search_vector = NULL WHERE id IN (SELECT task_id FROM old_links);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER task_tags_search_vector_insert AFTER INSERT ON tasks_app_task_tags
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_task_tags_changed();
CREATE TRIGGER task_tags_search_vector_delete AFTER DELETE ON tasks_app_task_tags
    REFERENCING OLD TABLE AS old_links
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_task_tags_changed();
CREATE TRIGGER task_tags_search_vector_update AFTER UPDATE ON tasks_app_task_tags
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_task_tags_changed();

CREATE FUNCTION tasks_app_tag_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks_app_task SET search_vector = NULL
     WHERE id IN (SELECT link.task_id
                    FROM new_tags JOIN old_tags ON old_tags.id = new_tags.id
                    JOIN tasks_app_task_tags link ON link.tag_id = new_tags.id
                   WHERE new_tags.name IS DISTINCT FROM old_tags.name);
    RETURN NULL;
END $$;

-- Transition tables cannot be combined with `UPDATE OF name`; the function compares names.
CREATE TRIGGER tag_search_vector AFTER UPDATE ON tasks_app_tag
    REFERENCING OLD TABLE AS old_tags NEW TABLE AS new_tags
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_tag_renamed();

-- Rows that existed before this migration.
UPDATE tasks_app_task SET search_vector = NULL;
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS tag_search_vector ON tasks_app_tag;
DROP TRIGGER IF EXISTS task_tags_search_vector_insert ON tasks_app_task_tags;
DROP TRIGGER IF EXISTS task_tags_search_vector_delete ON tasks_app_task_tags;
DROP TRIGGER IF EXISTS task_tags_search_vector_update ON tasks_app_task_tags;
DROP TRIGGER IF EXISTS task_search_vector ON tasks_app_task;
DROP FUNCTION IF EXISTS tasks_app_tag_renamed();
DROP FUNCTION IF EXISTS tasks_app_task_tags_changed();
DROP FUNCTION IF EXISTS tasks_app_task_search_vector_row();
DROP FUNCTION IF EXISTS tasks_app_task_search_vector(bigint, text, text);
DROP FUNCTION IF EXISTS tasks_app_search_config();
"""


def create_search_triggers(apps, schema_editor):
    schema_editor.execute(config_function_sql(schema_editor, settings.SEARCH_CONFIG))
    schema_editor.execute(TRIGGERS_SQL)


def drop_search_triggers(apps, schema_editor):
    schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ("tasks_app", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Lets the GIN index below hold user_id next to the vector (a trusted extension:
        # any role that may create objects in the database can install it).
        BtreeGinExtension(),
        migrations.AddField(
            model_name="task",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(create_search_triggers, drop_search_triggers),
        # After the backfill above: building an index once is cheaper than updating it row by row.
        migrations.AddIndex(
            model_name="task",
            index=django.contrib.postgres.indexes.GinIndex(fields=["user", "search_vector"], name="task_user_search"),
        ),
    ]
