"""What a channel raises when it cannot send."""

from __future__ import annotations


class ChannelError(Exception):
    """A send failed.  `retryable`: worth trying again later (a timeout, a 5xx, a refused
    connection); not: it never will succeed (a subscription gone, an address refused), so the
    delivery is marked failed at once and, for push, the subscription dropped."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable
