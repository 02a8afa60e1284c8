// The app's service worker, served at /sw.js (scope: the whole site).  It shows a pushed reminder
// whether or not a page of the app is open, and a click focuses an open page or opens one.
// Payload (tasks_app.push.services.notification_payload): {title, body, tag, url, due_at, ...}.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// Only a path of this site is ever opened, whatever a payload says.
function sameOrigin(url) {
  try {
    const target = new URL(url || "/", self.location.origin);
    return target.origin === self.location.origin ? target.href : self.location.origin + "/";
  } catch (error) {
    return self.location.origin + "/";
  }
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const title = typeof data.title === "string" && data.title ? data.title.slice(0, 100) : "Todo";
  const options = {
    body: String(data.body || "").slice(0, 300),
    data: { url: sameOrigin(data.url) },
    timestamp: data.due_at ? Date.parse(data.due_at) || Date.now() : Date.now(),
  };
  // The same notice delivered twice (a retry) replaces the first instead of stacking.
  if (typeof data.tag === "string" && data.tag) options.tag = data.tag.slice(0, 64);
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = sameOrigin(event.notification.data && event.notification.data.url);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).origin !== self.location.origin) continue;
      const focused = await client.focus();
      try {
        if (focused && focused.url !== url) await focused.navigate(url);
      } catch (error) {
        // navigate() works only on pages this worker controls; the focused page is enough then.
      }
      return;
    }
    await self.clients.openWindow(url);
  })());
});
