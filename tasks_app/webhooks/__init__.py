"""Signed webhooks: endpoints users register and the deliveries of their task events."""
