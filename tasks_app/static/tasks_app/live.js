// What every signed-in page with live reminders shares (the dashboard and the chat page), loaded
// before the page's own script, no build step:
//   TodoLive.connect({onMode, onOpen, onMessage}): the live socket at /ws/tasks/ (the server puts it in
//     the user's own group only), reconnecting with backoff; close code 4401 means "log in again".
//   TodoLive.notices({section, csrfToken, timeZone, focusAfter}): the reminder notices in `section`
//     (templates: tasks_app/_notices.html) — the unread ones when the socket opens, the live ones as
//     they come, each with Snooze (10 min) and Dismiss; and the browser's own notification for a live
//     one once the user has allowed it with the page's button (the page never asks on its own).
(function () {
  "use strict";

  const UNAUTHORIZED = 4401;
  const SNOOZE_MINUTES = 10;
  // Unread notices shown when a page opens (and compared against when it comes back into view).
  const UNREAD_LIMIT = 20;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function formatter(timeZone, options) {
    try {
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone });
    } catch (error) {
      return new Intl.DateTimeFormat(undefined, options); // unknown zone name: the browser's own
    }
  }

  // ------------------------------------------------------------------ the socket

  function backoff(n) {
    const ceiling = Math.min(30000, 500 * 2 ** n);
    return ceiling / 2 + Math.random() * ceiling / 2;
  }

  // onMode("connecting" | "open" | "offline" | "denied"); onOpen() each time it (re)opens: whatever
  // changed while disconnected is to be reloaded then, as every later change is pushed.
  function connect({ onMode = () => {}, onOpen = () => {}, onMessage = () => {} }) {
    let socket = null;
    let attempt = 0;
    let timer = null;
    let denied = false;

    function open() {
      clearTimeout(timer);
      if (socket || denied) return;
      onMode(attempt ? "offline" : "connecting");
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/tasks/");
      socket = ws;
      ws.addEventListener("open", () => {
        attempt = 0;
        onMode("open");
        onOpen();
      });
      ws.addEventListener("message", (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        onMessage(message);
      });
      ws.addEventListener("close", (event) => {
        if (socket !== ws) return;
        socket = null;
        if (event.code === UNAUTHORIZED) {
          denied = true;
          onMode("denied");
          return;
        }
        onMode("offline");
        timer = setTimeout(open, backoff(attempt++));
      });
    }

    window.addEventListener("online", () => { attempt = 0; open(); });
    document.addEventListener("visibilitychange", () => { if (!document.hidden) open(); });
    open();
  }

  // ------------------------------------------------------------------ the notices

  function notices({ section, csrfToken, timeZone, focusAfter }) {
    const list = section.querySelector(".notice-list");
    const status = section.querySelector(".notice-status");
    const allow = section.querySelector(".notice-allow");
    const showDate = formatter(timeZone, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    const showTime = formatter(timeZone, { hour: "2-digit", minute: "2-digit" });
    const shown = new Map(); // notification id -> {item: its <li>, at: when it was shown}

    async function post(path, body) {
      const response = await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify(body || {}),
      });
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new Error((data && typeof data.detail === "string") ? data.detail : `the server answered ${response.status}`);
      return data;
    }

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("error", Boolean(isError));
    }

    function remove(id) {
      const { item } = shown.get(id) || {};
      if (!item || !item.isConnected) return;
      const next = item.nextElementSibling || item.previousElementSibling;
      const hadFocus = item.contains(document.activeElement);
      item.remove();
      if (hadFocus) (next ? next.querySelector("button") : focusAfter || document.body).focus();
    }

    function show(notification) {
      if (shown.has(notification.id)) return false;
      const text = el("p", { class: "notice-text" }, notification.message);
      if (notification.due_at) {
        text.append(" ", el("time", { datetime: notification.due_at, text: "(" + showDate.format(new Date(notification.due_at)) + ")" }));
      }
      const actions = el("div", { class: "notice-actions" });
      const item = el("li", { class: "notice", "data-notification-id": String(notification.id) }, text, actions);
      if (notification.task_id) {
        const snooze = el("button", { type: "button", class: "secondary small", text: `Snooze ${SNOOZE_MINUTES} min`,
                                      "aria-label": `Snooze ${SNOOZE_MINUTES} minutes: ${notification.message}` });
        snooze.addEventListener("click", async () => {
          snooze.disabled = true;
          try {
            const result = await post(`/api/notifications/${notification.id}/snooze`, { minutes: SNOOZE_MINUTES });
            remove(notification.id);
            say(`Snoozed: reminds you again at ${showTime.format(new Date(result.remind_at))}.`);
          } catch (error) {
            snooze.disabled = false;
            say(`Could not snooze: ${error.message}`, true);
          }
        });
        actions.append(snooze);
      }
      const dismiss = el("button", { type: "button", class: "secondary small", text: "Dismiss",
                                     "aria-label": "Dismiss: " + notification.message });
      dismiss.addEventListener("click", async () => {
        remove(notification.id);
        try {
          await post(`/api/notifications/${notification.id}/read`);
        } catch (error) {
          // Still unread on the server: it shows again on the next visit.
        }
      });
      actions.append(dismiss);
      shown.set(notification.id, { item, at: Date.now() });
      list.prepend(item);
      return true;
    }

    async function unread() {
      const response = await fetch(`/api/notifications?unread=true&limit=${UNREAD_LIMIT}`,
                                   { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      return response.json();
    }

    // The unread notices (on open, on every reconnect); notices read or snoozed meanwhile on another
    // page or device leave this one.
    async function loadUnread() {
      const asked = Date.now();
      let found;
      list.setAttribute("aria-busy", "true");
      try {
        found = await unread();
      } catch (error) {
        return; // Live ones still show; the next reconnect tries again.
      } finally {
        list.setAttribute("aria-busy", "false");
      }
      if (found.length < UNREAD_LIMIT) {
        const ids = new Set(found.map((notification) => notification.id));
        for (const [id, { at }] of [...shown]) {
          // Not one that arrived live after the question was asked: its answer could not know it.
          if (!ids.has(id) && at < asked) { remove(id); shown.delete(id); }
        }
      }
      for (const notification of found.reverse()) show(notification);
    }

    // ---- the browser's own notifications: only after the user said yes with the button

    const desktop = "Notification" in window;
    function updateAllow() {
      if (allow) allow.hidden = !(desktop && Notification.permission === "default");
    }

    function notifyDesktop(notification) {
      if (!desktop || Notification.permission !== "granted") return;
      try {
        // One tag per notice: every open page sends it, the browser shows it once.
        const shownBySystem = new Notification("Reminder", { body: notification.message, tag: `todo-reminder-${notification.id}` });
        shownBySystem.addEventListener("click", () => { window.focus(); shownBySystem.close(); });
      } catch (error) {
        // A browser that allows notifications only from a service worker (Android): the page notice remains.
      }
    }

    if (allow) {
      allow.addEventListener("click", async () => {
        try {
          await Notification.requestPermission();
        } finally {
          updateAllow();
          if (Notification.permission === "granted") say("Desktop notifications are on.");
          else if (Notification.permission === "denied") say("Desktop notifications are blocked in this browser's site settings.");
        }
      });
    }
    updateAllow();

    function onLive(message) {
      if (message.type !== "todo.reminder.due" || !message.notification) return;
      const notification = { ...message.notification, task_id: message.task_id,
                             due_at: message.task ? message.task.due_at : null };
      if (show(notification)) notifyDesktop(notification);
    }

    document.addEventListener("visibilitychange", () => { if (!document.hidden) loadUnread(); });
    return { show, loadUnread, onLive };
  }

  window.TodoLive = { connect, notices };
})();
