"""Web Push (RFC 8030, payloads encrypted per RFC 8291, server identified by VAPID, RFC 8292).

A browser subscribes on the settings page with the server's VAPID public key and sends its
PushSubscription here (models.PushSubscription).  A reminder is encrypted for each of the user's
browsers and POSTed to its push service, which wakes the browser's service worker (/sw.js) to show
it, page open or not.  vapid: the key pair · services: subscriptions and sending · selectors: reads ·
api: /api/push · views: /sw.js.  The channel the delivery log calls is tasks_app.channels.push.
"""
