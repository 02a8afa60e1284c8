"""Delivery channels for notifications beyond the in-app notice (email, Web Push).

Each channel is a module here exposing:

    wanted(user) -> bool        the user wants (and can receive) notices on this channel; the users
                                deliveries_create passes come from users_for_wanted(queryset)
    users_for_wanted(users)     optional: the user queryset annotated with what wanted() reads, so
                                that a claim of thousands of reminders asks once, not once per user
    deliver(delivery) -> None   sends one NotificationDelivery; raises ChannelError on failure

The delivery log, retries and "never sent twice" live in one place (the delivery service),
not in the channels: a channel only knows how to send one message once.
"""

from types import ModuleType

from . import email, push


def registered() -> dict[str, ModuleType]:
    """The channels this deployment sends on, by NotificationDelivery.Channel value."""
    return {"email": email, "push": push}
