import pytest, time
from tasks_app.tests.test_query_plans import *
def test_t(django_user_model):
    import tasks_app.tests.test_query_plans as m
    t=time.perf_counter()
    rng = random.Random(1)
    users = django_user_model.objects.bulk_create([django_user_model(username=f"user{n}") for n in range(USERS)])
    print("users", time.perf_counter()-t)
    tasks = Task.objects.bulk_create([Task(user=user, title=" ".join(rng.sample(WORDS, 3)), description=" ".join(rng.sample(WORDS, 5))) for user in users for _ in range(TASKS_PER_USER)])
    print("tasks", time.perf_counter()-t)
    tags = {user.pk: Tag.objects.bulk_create([Tag(user=user, name=name) for name in ("work", "home", "urgent")]) for user in users}
    Link = Task.tags.through
    print("tags", time.perf_counter()-t)
    Link.objects.bulk_create([Link(task_id=task.pk, tag_id=tag.pk) for task in tasks for tag in rng.sample(tags[task.user_id], rng.randrange(0, 3))])
    print("links", time.perf_counter()-t)
