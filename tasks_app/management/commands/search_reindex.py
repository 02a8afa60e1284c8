"""`manage.py search_reindex`: apply a changed SEARCH_CONFIG to an existing database and recompute every
task's stored search vector (new databases get it from `migrate`)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction


class Command(BaseCommand):
    help = (
        "Apply settings.SEARCH_CONFIG (env SEARCH_CONFIG) to an existing database and recompute every "
        "task's search vector.  `migrate` applies it on a new database; run this after changing it."
    )

    def handle(self, *args, **options):
        config = settings.SEARCH_CONFIG
        # One transaction: searches keep seeing the old, consistent vectors until every row is
        # recomputed; task writes wait for it (they would otherwise be stemmed the old way).
        with transaction.atomic(), connection.cursor() as cursor:
            try:
                cursor.execute("SELECT %s::regconfig", [config])
            except DatabaseError:
                raise CommandError(f"SEARCH_CONFIG={config!r} is not a text-search configuration "
                                   "of this database (see `\\dF` in psql)") from None
            literal = connection.ops.compose_sql("%s", [config])
            # The function body is a string, so the name cannot be a bound parameter; it is quoted.
            cursor.execute(
                "CREATE OR REPLACE FUNCTION tasks_app_search_config() RETURNS regconfig "
                f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {literal}::regconfig $$"
            )
            # Writing search_vector fires the trigger that recomputes it (migration 0002_search).
            cursor.execute("UPDATE tasks_app_task SET search_vector = NULL")
            count = cursor.rowcount
        self.stdout.write(f"search configuration {config!r}: {count} task(s) reindexed")
