// The chat page without a build step: messages go to POST /api/chat; the conversation and the
// task list are re-rendered by the server (?partial=messages / ?partial=tasks) so markup lives in
// the Django templates only.  Without JavaScript the form posts to the page itself.
(function () {
  "use strict";

  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const status = document.getElementById("chat-status");
  const messages = document.getElementById("messages");
  const taskPanel = document.getElementById("task-panel");
  if (!form || !input || !messages || !taskPanel) return;

  const csrfToken = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let conversationId = form.dataset.conversationId || null;
  let followUps = [];
  // Tools that change tasks; after them background jobs (e.g. a recurring task's next
  // occurrence) may still add tasks, so the list is refreshed again a little later.
  const WRITES = new Set(["add_task", "update_task", "complete_task", "reopen_task", "delete_task", "quick_add",
                          "bulk_complete", "bulk_delete", "bulk_update", "undo"]);
  const undoButton = document.getElementById("chat-undo");
  const FOLLOW_UP_MS = [1500, 4000, 8000, 15000];

  function setStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function scrollToEnd() {
    messages.scrollTop = messages.scrollHeight;
  }

  async function fetchPart(name) {
    const params = new URLSearchParams({ partial: name });
    if (conversationId) params.set("c", conversationId);
    const response = await fetch("?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!response.ok) throw new Error("could not load the " + name + " (" + response.status + ")");
    return response.text();
  }

  async function refreshMessages() {
    messages.innerHTML = await fetchPart("messages");
    scrollToEnd();
  }

  async function refreshTasks() {
    taskPanel.setAttribute("aria-busy", "true");
    try {
      taskPanel.innerHTML = await fetchPart("tasks");
    } finally {
      taskPanel.setAttribute("aria-busy", "false");
    }
  }

  function scheduleFollowUps() {
    followUps.forEach(clearTimeout);
    followUps = FOLLOW_UP_MS.map((ms) => setTimeout(() => refreshTasks().catch(() => {}), ms));
  }

  function showSending(text) {
    let list = messages.querySelector(".message-list");
    if (!list) {
      messages.innerHTML = "";
      list = document.createElement("ol");
      list.className = "message-list";
      messages.appendChild(list);
    }
    const item = document.createElement("li");
    item.className = "message user sending";
    const who = document.createElement("p");
    who.className = "who";
    who.textContent = "You";
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    item.append(who, body);
    list.appendChild(item);
    scrollToEnd();
  }

  function errorText(response, body) {
    // RFC 9457 problem details (README, "Errors"); a quota's 403 is not a lost session.
    const quota = body && body.type === "/problems/quota-exceeded";
    if (response.status === 401 || (response.status === 403 && !quota)) return "Your session has ended. Please log in again.";
    if (body && typeof body.detail === "string") return body.detail;
    return "Something went wrong (" + response.status + "). Please try again.";
  }

  function release() {
    if (!send.disabled) return;
    send.disabled = false;
    form.removeAttribute("aria-busy");
    input.focus();
  }

  async function submit() {
    const text = input.value.trim();
    if (!text || send.disabled) return;
    send.disabled = true;
    form.setAttribute("aria-busy", "true");
    setStatus("Working…");
    showSending(text);
    input.value = "";
    let answered = false;
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, "Accept": "application/json" },
        body: JSON.stringify({ message: text, conversation_id: conversationId ? Number(conversationId) : null }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        input.value = text;
        await refreshMessages().catch(() => {});
        setStatus(errorText(response, body), true);
        return;
      }
      if (String(body.conversation_id) !== String(conversationId)) {
        conversationId = String(body.conversation_id);
        form.dataset.conversationId = conversationId;
        history.replaceState(null, "", "?c=" + encodeURIComponent(conversationId));
        const heading = document.getElementById("chat-heading");
        const firstLine = text.split("\n")[0];
        if (heading) heading.textContent = firstLine.length <= 80 ? firstLine : firstLine.slice(0, 79) + "…";
      }
      await refreshMessages();
      // The reply is on the page: the next message can go now, while the task panel refreshes (an
      // Enter pressed during that refresh used to be ignored, the text left in the box).
      answered = true;
      release();
      const did = body.tool_calls.length;
      setStatus(did ? "Done: " + did + " action" + (did === 1 ? "" : "s") + "." : "Answered.");
      if (did) {
        await refreshTasks();
        const wrote = body.tool_calls.some((call) => WRITES.has(call.name) && !("error" in (call.result || {})));
        if (wrote) scheduleFollowUps();
        if (undoButton) undoButton.textContent = wrote ? "Undo that" : "Undo last change";
      }
    } catch (error) {
      if (!answered) input.value = text;  // once answered, the box may hold the next message already
      setStatus("Could not reach the server: " + error.message, true);
    } finally {
      release();
    }
  }

  async function undoLast() {
    if (undoButton.getAttribute("aria-busy") === "true") return;
    undoButton.setAttribute("aria-busy", "true");
    setStatus("Undoing…");
    try {
      const response = await fetch("/api/undo", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, "Accept": "application/json" },
        body: JSON.stringify({ count: 1 }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        setStatus(errorText(response, body), true);
        return;
      }
      setStatus("Undone: " + body.undone.map((item) => "“" + item.title + "” " + item.now).join(", ") + ".");
      undoButton.textContent = "Undo last change";
      await refreshTasks();
      scheduleFollowUps();
    } catch (error) {
      setStatus("Could not reach the server: " + error.message, true);
    } finally {
      undoButton.removeAttribute("aria-busy");
    }
  }

  if (undoButton) {
    undoButton.hidden = false; // without JavaScript, "undo" in a message does the same
    undoButton.addEventListener("click", undoLast);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  // The scripts are deferred: until here Enter in the box only adds a line. Tests (and anything
  // else driving the page) wait for this mark before typing.
  form.dataset.ready = "true";
  scrollToEnd();

  // Reminder notices, live and unread, as on the dashboard (tasks_app/live.js).
  const noticeSection = document.getElementById("notices");
  if (noticeSection && window.TodoLive) {
    const layout = document.querySelector(".chat-layout");
    const notices = TodoLive.notices({ section: noticeSection, csrfToken, timeZone: (layout && layout.dataset.timeZone) || undefined,
                                       focusAfter: input });
    TodoLive.connect({
      onMode(mode) { noticeSection.dataset.live = mode; },
      onOpen: notices.loadUnread,
      onMessage: notices.onLive,
    });
  }
})();
