"""URL routes of the public port: the chat and dashboard pages, sign-in pages, the admin and the API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from chat_app import views as chat_views
from tasks_app import views as task_views
from tasks_app.calendar_feed import views as calendar_feed_views
from tasks_app.push import views as push_views
from tasks_app.throttling import login_throttled
from tasks_app.transfer import views as transfer_views
from tasks_app.webhooks import views as webhook_views

from .api import api
from .health import healthz

urlpatterns = [
    path("", chat_views.chat_page, name="home"),
    path("accounts/login/", login_throttled(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", task_views.signup, name="signup"),
    path("settings/", task_views.account_settings, name="account_settings"),
    path("settings/import", transfer_views.import_upload, name="import_tasks"),
    path("settings/export", transfer_views.export_download, name="export_tasks"),
    path("settings/webhooks", webhook_views.webhook_add, name="webhook_add"),
    path("settings/webhooks/<int:endpoint_id>/toggle", webhook_views.webhook_toggle, name="webhook_toggle"),
    path("settings/webhooks/<int:endpoint_id>/rotate", webhook_views.webhook_rotate, name="webhook_rotate"),
    path("settings/webhooks/<int:endpoint_id>/delete", webhook_views.webhook_delete, name="webhook_delete"),
    path("settings/webhooks/deliveries/<int:delivery_id>/redeliver", webhook_views.webhook_redeliver,
         name="webhook_redeliver"),
    path("settings/calendar-feed/rotate", calendar_feed_views.calendar_feed_rotate, name="calendar_feed_rotate"),
    path("settings/calendar-feed/off", calendar_feed_views.calendar_feed_turn_off, name="calendar_feed_turn_off"),
    # No sign-in: the token in the path is the credential (tasks_app.calendar_feed.services).
    path("calendar/<str:token>.ics", calendar_feed_views.calendar_feed, name="calendar_feed"),
    path("settings/push/<int:subscription_id>/remove", push_views.push_subscription_remove,
         name="push_subscription_remove"),
    # The service worker at the root, so that its scope is the whole site (tasks_app.push).
    path("sw.js", push_views.service_worker, name="service_worker"),
    path("settings/preferences", task_views.update_preferences, name="update_preferences"),
    path("settings/tokens/<int:token_id>/revoke", task_views.revoke_token, name="revoke_token"),
    path("tasks/", task_views.tasks_dashboard, name="tasks_dashboard"),
    path("api/", api.urls),
    # Cheap and detail-free; the component report and /metrics are on INTERNAL_PORT (todo_project/internal.py).
    path("healthz", healthz, name="healthz"),
    # The admin's own login, behind the same lockout (matched before admin.site.urls).
    path("admin/login/", login_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
]
