// The settings page's "Enable push notifications" control: subscribes this browser with the server's
// VAPID key (GET /api/push/key) and saves the subscription (POST /api/push/subscriptions), or turns
// push off here (unsubscribe, then DELETE it).  Service workers need a secure context: HTTPS, or
// localhost in development.
(function () {
  "use strict";
  const root = document.getElementById("push-control");
  if (!root) return;
  const status = root.querySelector("[data-push-status]");
  const enable = root.querySelector("[data-push-enable]");
  const disable = root.querySelector("[data-push-disable]");
  const csrfToken = root.querySelector("input[name=csrfmiddlewaretoken]").value;

  function say(text) { status.textContent = text; }
  function show(subscribed) { enable.hidden = subscribed; disable.hidden = !subscribed; }

  function keyBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }
  function sameKey(subscription, key) {
    const current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return true;
    const a = new Uint8Array(current), b = keyBytes(key);
    return a.length === b.length && a.every((value, i) => value === b[i]);
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method, credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok && response.status !== 204) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (error) { /* not JSON */ }
      throw new Error(detail);
    }
    return response.status === 204 ? null : response.json();
  }

  async function registration() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" });
  }

  async function subscribe() {
    say("Asking your browser…");
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say("Notifications are blocked for this site in your browser; allow them in its site settings first.");
      return;
    }
    const { public_key: key } = await api("GET", "/api/push/key");
    const worker = await registration();
    let subscription = await worker.pushManager.getSubscription();
    if (subscription && !sameKey(subscription, key)) {
      await subscription.unsubscribe();  // made with an older server key: it would never work
      subscription = null;
    }
    subscription = subscription || await worker.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
    await api("POST", "/api/push/subscriptions", subscription.toJSON());
    say("Push notifications are on in this browser.");
    show(true);
  }

  async function unsubscribe() {
    const worker = await navigator.serviceWorker.getRegistration("/");
    const subscription = worker && await worker.pushManager.getSubscription();
    if (subscription) {
      const saved = await api("GET", "/api/push/subscriptions");
      for (const row of saved.filter((row) => row.endpoint === subscription.endpoint)) {
        await api("DELETE", `/api/push/subscriptions/${row.id}`);
      }
      await subscription.unsubscribe();
    }
    say("Push notifications are off in this browser.");
    show(false);
  }

  async function start() {
    if (!window.isSecureContext || !("serviceWorker" in navigator) || !("PushManager" in window)) {
      say("This browser cannot get push notifications from this address (it needs HTTPS, or localhost).");
      return;
    }
    const worker = await navigator.serviceWorker.getRegistration("/");
    const subscription = worker && await worker.pushManager.getSubscription();
    const on = Boolean(subscription) && Notification.permission === "granted";
    say(on ? "Push notifications are on in this browser." : "Push notifications are off in this browser.");
    show(on);
    if (on) {
      // Keep the server's copy current (a renewed subscription, another account signed in here).
      const { public_key: key } = await api("GET", "/api/push/key");
      if (sameKey(subscription, key)) await api("POST", "/api/push/subscriptions", subscription.toJSON());
      else show(false);
    }
  }

  function guarded(action) {
    return () => action().catch((error) => say(`Could not change push notifications: ${error.message}`));
  }
  enable.addEventListener("click", guarded(subscribe));
  disable.addEventListener("click", guarded(unsubscribe));
  guarded(start)();
})();
