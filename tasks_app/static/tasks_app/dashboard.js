// The task dashboard without a build step.  The list comes from GET /api/tasks (session + CSRF
// header for writes) with the filters in the form (mirrored in the address bar).  The WebSocket at
// /ws/tasks/ says when any of the user's tasks changed, wherever the change was made; the page then
// reloads the list, so the server stays the one judge of what matches the filters and in what order.
// Rows are kept by task id, so a reload leaves a row being edited, and the focus, where they are.
(function () {
  "use strict";

  const root = document.getElementById("dashboard");
  if (!root) return;

  const $ = (id) => document.getElementById(id);
  const list = $("task-list");
  const filters = $("filters");
  const addForm = $("add-form");
  const csrfToken = addForm.querySelector("input[name=csrfmiddlewaretoken]").value;
  const pageSize = Number(root.dataset.pageSize) || 50;
  const maxPageSize = Number(root.dataset.maxPageSize) || 200;
  const timeZone = root.dataset.timeZone || undefined;
  const titleMaxLength = root.dataset.titleMaxLength || "200";
  const maxReminderMinutes = root.dataset.maxReminderMinutes || "40320";
  const PRIORITIES = ["P1", "P2", "P3", "P4"];
  const SEARCH_DELAY_MS = 300;

  const state = {
    limit: pageSize,
    rows: new Map(), // task id -> {task, el, editing}
    shownQuery: null, // the filters of the list on screen
    localChanges: new Map(), // task id -> time of a change made on this page (not announced again)
  };

  // ------------------------------------------------------------------ small helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function formatter(options) {
    try {
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone });
    } catch (error) {
      return new Intl.DateTimeFormat(undefined, options); // unknown zone name: the browser's own
    }
  }
  const showDate = formatter({ weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const inputParts = formatter({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  // "2026-03-01T09:30" in the user's zone, for <input type=datetime-local>; the API reads such a
  // time without offset in the same zone.
  function toInputValue(iso) {
    if (!iso) return "";
    const parts = {};
    for (const part of inputParts.formatToParts(new Date(iso))) parts[part.type] = part.value;
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  }

  function nextDay(date) {
    const day = new Date(date + "T00:00:00Z");
    day.setUTCDate(day.getUTCDate() + 1);
    return day.toISOString().slice(0, 10);
  }

  function splitTags(text) {
    return text.split(",").map((tag) => tag.trim().replace(/^#/, "")).filter(Boolean);
  }

  function sameTags(a, b) {
    const norm = (tags) => tags.map((t) => t.toLowerCase()).sort().join("\n");
    return norm(a) === norm(b);
  }

  function repeatText(rule) {
    const simple = /^FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)$/i.exec(rule || "");
    return simple ? "repeats " + simple[1].toLowerCase() : "repeats";
  }

  function announce(text) {
    const announcer = $("announcer");
    announcer.textContent = "";
    // A fresh text node after a tick is announced even when the text repeats.
    setTimeout(() => { announcer.textContent = text; }, 30);
  }

  function setStatus(node, text, isError) {
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  // ------------------------------------------------------------------ the REST API

  class ApiError extends Error {
    constructor(status, body) {
      super(describeError(status, body));
      this.status = status;
    }
  }

  // Errors are RFC 9457 problem details (README, "Errors"): `detail` names what was wrong (for a 422,
  // every bad field); a 403 of another kind than "forbidden" (a quota) is not a lost session.
  function describeError(status, body) {
    const problemType = body && body.type;
    if (status === 401 || (status === 403 && problemType !== "/problems/quota-exceeded")) {
      return "Your session has ended. Please log in again.";
    }
    if (body && typeof body.detail === "string") return body.detail;
    return `Something went wrong (${status}). Please try again.`;
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new Error("Could not reach the server. Check your connection and try again.");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // ------------------------------------------------------------------ filters <-> query

  function readFilters() {
    const data = new FormData(filters);
    return {
      q: (data.get("q") || "").trim(),
      priority: data.getAll("priority"),
      tag: data.get("tag") || "",
      status: data.get("status") || "open",
      due_from: data.get("due_from") || "",
      due_to: data.get("due_to") || "",
      sort: data.get("sort") || "",
      saved: data.get("saved") || "",
    };
  }

  function apiQuery(f) {
    const params = new URLSearchParams();
    if (f.saved) {  // a saved list as it was saved: the other filters do not apply to it
      params.set("filter", f.saved);
      params.set("limit", String(state.limit));
      return params;
    }
    if (f.q) params.set("q", f.q);
    for (const priority of f.priority) params.append("priority", priority);
    if (f.tag) params.append("tag", f.tag);
    if (f.status === "open") params.set("completed", "false");
    else if (f.status === "done") params.set("completed", "true");
    else if (f.status === "overdue") params.set("overdue", "true");
    // Dates are whole days in the user's zone: [from 00:00, the day after "until" 00:00).
    if (f.due_from) params.set("due_after", f.due_from + "T00:00:00");
    if (f.due_to) params.set("due_before", nextDay(f.due_to) + "T00:00:00");
    if (f.sort) params.set("sort", f.sort);
    params.set("limit", String(state.limit));
    return params;
  }

  function pageQuery(f) {
    const params = new URLSearchParams();
    if (f.q) params.set("q", f.q);
    for (const priority of f.priority) params.append("priority", priority);
    if (f.tag) params.set("tag", f.tag);
    if (f.status !== "open") params.set("status", f.status);
    if (f.due_from) params.set("due_from", f.due_from);
    if (f.due_to) params.set("due_to", f.due_to);
    if (f.sort) params.set("sort", f.sort);
    if (f.saved) params.set("saved", f.saved);
    return params;
  }

  function restoreFilters() {
    const params = new URLSearchParams(location.search);
    filters.elements.q.value = params.get("q") || "";
    const priorities = new Set(params.getAll("priority"));
    for (const box of filters.querySelectorAll("input[name=priority]")) box.checked = priorities.has(box.value);
    const tag = params.get("tag");
    if (tag) ensureTagOption(tag);
    filters.elements.tag.value = tag || "";
    const status = params.get("status");
    if (status && filters.elements.status.querySelector(`option[value="${CSS.escape(status)}"]`)) {
      filters.elements.status.value = status;
    }
    filters.elements.due_from.value = params.get("due_from") || "";
    filters.elements.due_to.value = params.get("due_to") || "";
    const saved = params.get("saved");
    if (saved) ensureSavedOption(saved, saved);
    filters.elements.saved.value = saved || "";
    const sort = params.get("sort");
    if (sort && filters.elements.sort.querySelector(`option[value="${CSS.escape(sort)}"]`)) filters.elements.sort.value = sort;
  }

  function filtersChanged() {
    state.limit = pageSize;
    const query = pageQuery(readFilters()).toString();
    history.replaceState(null, "", query ? "?" + query : location.pathname);
    refresh();
  }

  // ------------------------------------------------------------------ the list

  // One request at a time: asking while one is out marks the list stale, and it is asked again
  // (with the filters as they are then) as soon as that one returns.  A burst of events costs at
  // most two requests, and no timer is involved, so a page in a background tab (whose timers the
  // browser slows down) updates as promptly as the one in front.
  let inFlight = false;
  let stale = false;

  async function refresh() {
    if (inFlight) {
      stale = true;
      return;
    }
    inFlight = true;
    list.setAttribute("aria-busy", "true");
    try {
      do {
        stale = false;
        try {
          const query = apiQuery(readFilters());
          const page = await api("GET", "/api/tasks?" + query.toString());
          if (!stale) {
            query.delete("limit");
            // Rows new to the same filters arrived from elsewhere: they are highlighted.
            render(page, query.toString() === state.shownQuery);
            loadPlan();
            state.shownQuery = query.toString();
            setStatus($("list-status"), "");
          }
        } catch (error) {
          if (!stale) setStatus($("list-status"), error.message, true);
        }
      } while (stale);
    } finally {
      inFlight = false;
      list.setAttribute("aria-busy", "false");
    }
  }

  function render(page, highlightNew) {
    const active = document.activeElement;
    const activeRow = active && list.contains(active) ? active.closest(".task-row") : null;
    const activeAction = active && active.dataset ? active.dataset.action : null;
    const oldOrder = [...state.rows.keys()];
    const next = new Map();

    for (const task of page.items) {
      let entry = state.rows.get(task.id);
      if (entry && entry.editing) {
        entry.latest = task;
      } else if (entry && entry.task.updated_at === task.updated_at && entry.overdue === isOverdue(task)) {
        entry.task = task;
      } else {
        const fresh = !entry && highlightNew;
        entry = { task, el: buildRow(task), editing: false, overdue: isOverdue(task) };
        if (fresh) entry.el.classList.add("fresh");
      }
      next.set(task.id, entry);
    }
    // A row being edited stays, even if the task no longer matches: the edit is not thrown away.
    for (const [id, entry] of state.rows) if (entry.editing && !next.has(id)) next.set(id, entry);

    let cursor = list.firstChild;
    for (const entry of next.values()) {
      if (entry.el === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(entry.el, cursor);
    }
    while (cursor) {
      const after = cursor.nextSibling;
      cursor.remove();
      cursor = after;
    }

    state.rows = next;
    restoreFocus(active, activeRow, activeAction, oldOrder);

    const shown = page.items.length;
    $("result-count").textContent = `(${page.count})`;
    $("list-empty").hidden = shown > 0;
    const more = Boolean(page.next_cursor);
    $("list-more").hidden = !more;
    $("show-more").hidden = !more || state.limit >= maxPageSize;
    $("more-help").textContent = more
      ? (state.limit >= maxPageSize ? `Showing the first ${shown} of ${page.count}; narrow the search to see the rest.`
        : `Showing ${shown} of ${page.count}.`)
      : "";
  }

  // Keep keyboard users where they were: the same control, in the row's new version if it was
  // rebuilt, or in the next row when theirs has gone (e.g. completed while showing open tasks).
  function restoreFocus(active, activeRow, activeAction, oldOrder) {
    if (!activeRow || document.activeElement === active) return;
    if (active.isConnected) {
      active.focus();
      return;
    }
    const id = Number(activeRow.dataset.taskId);
    const index = oldOrder.indexOf(id);
    const candidates = [id, ...oldOrder.slice(index + 1), ...oldOrder.slice(0, Math.max(index, 0)).reverse()];
    for (const candidate of candidates) {
      const entry = state.rows.get(candidate);
      if (!entry) continue;
      const target = (activeAction && entry.el.querySelector(`[data-action="${activeAction}"]`)) || entry.el.querySelector("input, button");
      if (target) {
        target.focus();
        return;
      }
    }
    $("task-results").focus();
  }

  function isOverdue(task) {
    return !task.completed && Boolean(task.due_at) && new Date(task.due_at) < new Date();
  }

  function buildRow(task) {
    const row = el("li", { class: "task-row" + (task.completed ? " done" : ""), "data-task-id": String(task.id) });
    fillRow(row, task);
    return row;
  }

  function fillRow(row, task) {
    row.replaceChildren();
    row.classList.toggle("done", task.completed);
    row.classList.remove("editing");
    const titleId = `task-${task.id}-title`;
    const check = el("input", {
      type: "checkbox", class: "done-box", checked: task.completed, "data-action": "toggle",
      "aria-label": "Mark done: " + task.title,
    });
    const overdue = isOverdue(task);
    const meta = el("p", { class: "meta" });
    for (const tag of task.tags) meta.append(el("span", { class: "tag", text: "#" + tag }));
    if (task.due_at) {
      meta.append(el("time", { datetime: task.due_at, text: "due " + showDate.format(new Date(task.due_at)) }));
    }
    if (overdue) meta.append(el("span", { class: "badge overdue", text: "overdue" }));
    if (task.recurrence) meta.append(el("span", { class: "repeat", title: task.recurrence, text: "↻ " + (task.recurrence_text ? "repeats " + task.recurrence_text : repeatText(task.recurrence)) }));
    if (task.reminder_minutes_before !== null && task.reminder_minutes_before !== undefined && task.due_at) {
      meta.append(el("span", { class: "remind", text: `reminder ${task.reminder_minutes_before} min before` }));
    }
    const body = el("div", { class: "body" },
      el("p", { class: "line" },
        el("span", { class: "priority " + task.priority.toLowerCase(), title: "Priority " + task.priority, text: task.priority }),
        " ",
        el("span", { class: "title", id: titleId, text: task.title })),
      meta.childNodes.length ? meta : null,
      task.description ? el("p", { class: "desc", text: task.description }) : null);
    const edit = el("button", { type: "button", class: "secondary small", "data-action": "edit", "aria-label": "Edit: " + task.title, text: "Edit" });
    row.append(check, body, el("div", { class: "actions" }, edit));
  }

  // ------------------------------------------------------------------ complete, reopen, edit, delete

  function markLocal(id) {
    state.localChanges.set(id, Date.now());
  }

  async function toggle(entry, box) {
    if (entry.busy) {
      box.checked = !box.checked; // one change at a time; the box is not disabled so it keeps the focus
      return;
    }
    const task = entry.task;
    const action = box.checked ? "complete" : "reopen";
    entry.busy = true;
    box.setAttribute("aria-busy", "true");
    markLocal(task.id);
    try {
      // The row is redrawn by the reload (its task's updated_at has changed), wherever it now belongs.
      const updated = await api("POST", `/api/tasks/${task.id}/${action}`);
      announce(updated.completed ? `Completed “${updated.title}”.` : `Reopened “${updated.title}”.`);
      offerUndo();
      await refresh();
    } catch (error) {
      box.checked = !box.checked;
      setStatus($("list-status"), error.message, true);
    } finally {
      entry.busy = false;
      box.removeAttribute("aria-busy");
    }
  }

  function field(labelText, control, id) {
    control.id = id;
    return el("div", { class: "field" }, el("label", { for: id, text: labelText }), control);
  }

  function openEditor(entry) {
    const task = entry.task;
    const row = entry.el;
    const base = `edit-${task.id}`;
    entry.editing = true;
    entry.latest = null;
    row.classList.add("editing");
    const priority = el("select", { name: "priority" });
    for (const value of PRIORITIES) priority.append(el("option", { value, text: value, selected: value === task.priority }));
    const form = el("form", { class: "edit-form", "aria-label": "Edit “" + task.title + "”" },
      field("Title", el("input", { name: "title", required: true, maxlength: titleMaxLength, value: task.title, autocomplete: "off" }), `${base}-title`),
      field("Description", el("textarea", { name: "description", rows: "2", text: task.description }), `${base}-description`),
      field("Priority", priority, `${base}-priority`),
      field("Due", el("input", { name: "due_at", type: "datetime-local", value: toInputValue(task.due_at) }), `${base}-due`),
      field("Tags", el("input", { name: "tags", value: task.tags.join(", "), autocomplete: "off" }), `${base}-tags`),
      field("Reminder (minutes before due)", el("input", {
        name: "reminder", type: "number", min: "0", max: maxReminderMinutes, inputmode: "numeric",
        value: task.reminder_minutes_before === null ? "" : String(task.reminder_minutes_before),
      }), `${base}-reminder`),
      field("Repeats (daily, weekly, monthly, yearly or an RRULE)", el("input", { name: "recurrence", value: task.recurrence || "", autocomplete: "off" }), `${base}-recurrence`),
      el("div", { class: "edit-buttons" },
        el("button", { type: "submit", text: "Save" }),
        el("button", { type: "button", class: "secondary", "data-action": "cancel", text: "Cancel" }),
        el("button", { type: "button", class: "danger", "data-action": "delete", text: "Delete" })),
      el("p", { class: "status", role: "alert" }));
    row.replaceChildren(form);
    form.elements.title.focus();
    form.elements.title.select();
  }

  function closeEditor(entry, task) {
    entry.editing = false;
    entry.task = entry.latest && entry.latest.updated_at > task.updated_at ? entry.latest : task;
    entry.latest = null;
    entry.overdue = isOverdue(entry.task);
    fillRow(entry.el, entry.task);
    entry.el.querySelector("[data-action=edit]").focus();
    refresh();
  }

  function changes(task, form) {
    const out = {};
    const title = form.elements.title.value.trim();
    if (title !== task.title) out.title = title;
    if (form.elements.description.value !== task.description) out.description = form.elements.description.value;
    if (form.elements.priority.value !== task.priority) out.priority = form.elements.priority.value;
    const due = form.elements.due_at.value;
    if (due !== toInputValue(task.due_at)) out.due_at = due || null;
    const tags = splitTags(form.elements.tags.value);
    if (!sameTags(tags, task.tags)) out.tags = tags;
    const reminderText = form.elements.reminder.value.trim();
    const reminder = reminderText === "" ? null : Number(reminderText);
    if (reminder !== task.reminder_minutes_before) out.reminder_minutes_before = reminder;
    const recurrence = form.elements.recurrence.value.trim() || null;
    if (recurrence !== task.recurrence) out.recurrence = recurrence;
    return out;
  }

  async function saveEditor(entry, form) {
    const status = form.querySelector(".status");
    const patch = changes(entry.task, form);
    if (!Object.keys(patch).length) {
      closeEditor(entry, entry.task);
      return;
    }
    form.setAttribute("aria-busy", "true");
    setStatus(status, "Saving…");
    markLocal(entry.task.id);
    try {
      const updated = await api("PATCH", `/api/tasks/${entry.task.id}`, patch);
      entry.latest = null;
      closeEditor(entry, updated);
      announce(`Saved “${updated.title}”.`);
      offerUndo();
    } catch (error) {
      setStatus(status, error.message, true);
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  async function deleteTask(entry, form) {
    const task = entry.task;
    if (!window.confirm(`Delete “${task.title}”?`)) return;
    markLocal(task.id);
    try {
      await api("DELETE", `/api/tasks/${task.id}`);
      entry.editing = false;
      announce(`Deleted “${task.title}”.`);
      offerUndo();
      await refresh();
    } catch (error) {
      setStatus(form.querySelector(".status"), error.message, true);
    }
  }

  function entryOf(node) {
    const row = node.closest(".task-row");
    return row ? state.rows.get(Number(row.dataset.taskId)) : null;
  }

  list.addEventListener("change", (event) => {
    const entry = entryOf(event.target);
    if (entry && event.target.dataset.action === "toggle") toggle(entry, event.target);
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const entry = button && entryOf(button);
    if (!entry) return;
    if (button.dataset.action === "edit") openEditor(entry);
    else if (button.dataset.action === "cancel") closeEditor(entry, entry.task);
    else if (button.dataset.action === "delete") deleteTask(entry, button.form);
  });
  list.addEventListener("submit", (event) => {
    event.preventDefault();
    const entry = entryOf(event.target);
    if (entry) saveEditor(entry, event.target);
  });
  list.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const entry = entryOf(event.target);
    if (entry && entry.editing) {
      event.preventDefault();
      closeEditor(entry, entry.task);
    }
  });

  // ------------------------------------------------------------------ adding

  // Quick add: the server reads the line with the chat's grammar.  While typing, a debounced preview
  // (POST /api/tasks/quick/preview) shows what will be created, with the recognised parts marked in
  // the text; Add posts the line to /api/tasks/quick with an Idempotency-Key that stays the same
  // for the same line, so a retry after a lost answer does not create the task twice.
  const addText = addForm.elements.text;
  const preview = $("quick-preview");
  const PREVIEW_DELAY_MS = 250;
  const KIND_LABELS = { title: "Title", priority: "Priority", tag: "Tag", due: "Due", recurrence: "Repeats", reminder: "Reminder" };
  const quick = { timer: null, seq: 0, key: null, keyText: null };

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  }

  function idempotencyKeyFor(text) {
    if (quick.keyText !== text) {
      quick.key = newKey();
      quick.keyText = text;
    }
    return quick.key;
  }

  function minutesText(minutes) {
    if (minutes === 0) return "at the due time";
    if (minutes % 1440 === 0) return `${minutes / 1440} day${minutes === 1440 ? "" : "s"} before`;
    if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? "" : "s"} before`;
    return `${minutes} min before`;
  }

  function partValueText(part) {
    if (part.kind === "due") return showDate.format(new Date(part.value));
    if (part.kind === "recurrence") return repeatText(part.value).replace(/^repeats\s*/, "") || part.value;
    if (part.kind === "reminder") return minutesText(part.value);
    if (part.kind === "tag") return "#" + part.value;
    return String(part.value);
  }

  // The text with each recognised part marked.  Spans count Unicode code points (as the server
  // does), so the text is cut as an array of code points, not UTF-16 units.
  function markedText(text, parts) {
    const chars = Array.from(text);
    const node = $("quick-text");
    node.replaceChildren();
    let at = 0;
    for (const part of [...parts].sort((x, y) => x.start - y.start)) {
      if (part.start < at) continue;
      if (part.start > at) node.append(chars.slice(at, part.start).join(""));
      node.append(el("mark", { class: "qa-" + part.kind, "data-kind": part.kind,
        title: `${KIND_LABELS[part.kind] || part.kind}: ${partValueText(part)}`, text: chars.slice(part.start, part.end).join("") }));
      at = part.end;
    }
    if (at < chars.length) node.append(chars.slice(at).join(""));
  }

  function showPreview(text, result) {
    markedText(text, result.parts);
    const items = [];
    const seen = new Set();
    for (const part of result.parts) {
      const label = KIND_LABELS[part.kind] || part.kind;
      const value = part.kind === "title" ? (result.fields.title || part.value) : partValueText(part);
      if (seen.has(part.kind + "\n" + value)) continue; // a phrase split in two reads once
      seen.add(part.kind + "\n" + value);
      items.push(el("li", { class: "qa-" + part.kind, "data-kind": part.kind },
        el("span", { class: "kind", text: label }), " ", el("span", { class: "value", text: value })));
    }
    if (result.fields.title && !result.parts.some((part) => part.kind === "priority")) {
      items.push(el("li", { class: "qa-priority default", "data-kind": "priority" },
        el("span", { class: "kind", text: "Priority" }), " ", el("span", { class: "value", text: result.fields.priority + " (default)" })));
    }
    $("quick-parts").replaceChildren(...items);
    setStatus($("quick-problem"), result.problem || "", Boolean(result.problem));
    preview.hidden = false;
  }

  function hidePreview() {
    preview.hidden = true;
    $("quick-parts").replaceChildren();
    $("quick-text").replaceChildren();
    setStatus($("quick-problem"), "");
  }

  async function updatePreview() {
    const text = addText.value;
    const seq = ++quick.seq;
    if (!text.trim()) { hidePreview(); return; }
    try {
      const result = await api("POST", "/api/tasks/quick/preview", { text });
      if (seq === quick.seq) showPreview(text, result); // a later keystroke's preview wins
    } catch (error) {
      if (seq === quick.seq) {
        preview.hidden = false;
        $("quick-parts").replaceChildren();
        setStatus($("quick-problem"), error.message, true);
      }
    }
  }

  addText.addEventListener("input", () => {
    clearTimeout(quick.timer);
    quick.timer = setTimeout(updatePreview, PREVIEW_DELAY_MS);
  });

  async function quickAdd(text) {
    const headers = { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken,
                      "Idempotency-Key": idempotencyKeyFor(text) };
    let response;
    try {
      response = await fetch("/api/tasks/quick", { method: "POST", headers, credentials: "same-origin", body: JSON.stringify({ text }) });
    } catch (error) {
      throw new Error("Could not reach the server. Check your connection and try again (it will not be added twice).");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("add-status");
    const text = addText.value;
    if (!text.trim()) return;
    const button = addForm.querySelector("button[type=submit]");
    button.disabled = true;
    clearTimeout(quick.timer);
    try {
      const { task } = await quickAdd(text);
      markLocal(task.id);
      quick.seq++; // a preview still on its way is for the old text
      addText.value = "";
      quick.keyText = null;
      hidePreview();
      setStatus(status, `Added “${task.title}”.`);
      offerUndo();
      await refresh();
      loadTags();
    } catch (error) {
      setStatus(status, error.message, true);
    } finally {
      button.disabled = false;
      addText.focus();
    }
  });

  // ------------------------------------------------------------------ tags for the filter

  function ensureTagOption(name) {
    const select = filters.elements.tag;
    if (![...select.options].some((option) => option.value === name)) select.append(el("option", { value: name, text: "#" + name }));
  }

  let tagsTimer = null;
  // ------------------------------------------------------------------ saved lists and the plan

  function ensureSavedOption(value, label) {
    const select = filters.elements.saved;
    let option = select.querySelector(`option[value="${CSS.escape(value)}"]`);
    if (!option) {
      option = el("option", { value, text: label });
      select.append(option);
    }
    option.textContent = label;
  }

  async function loadSavedFilters() {
    try {
      const saved = await api("GET", "/api/filters");
      for (const item of saved) ensureSavedOption(String(item.id), item.name);
    } catch (error) {
      // The dropdown stays as it was; the list itself still works.
    }
  }

  async function loadPlan() {
    try {
      const plan = await api("GET", "/api/plan/today?limit=5");
      const items = plan.items.map((item) => el("li", {},
        el("span", { class: "plan-title", text: item.task.title }), " ",
        el("span", { class: "plan-reason", text: item.reason })));
      $("plan-list").replaceChildren(...items);
      $("plan-empty").hidden = items.length > 0;
    } catch (error) {
      // The plan is a help, not the page: a failure leaves the last one shown.
    }
  }

  function loadTags() {
    clearTimeout(tagsTimer);
    tagsTimer = setTimeout(async () => {
      try {
        const tags = await api("GET", "/api/tags");
        const select = filters.elements.tag;
        const chosen = select.value;
        select.replaceChildren(el("option", { value: "", text: "Any tag" }),
          ...tags.map((tag) => el("option", { value: tag.name, text: `#${tag.name} (${tag.task_count})` })));
        if (chosen) ensureTagOption(chosen);
        select.value = chosen;
      } catch (error) {
        // The filter keeps the tags it had; the list itself reports connection problems.
      }
    }, 200);
  }

  // ------------------------------------------------------------------ reminders (tasks_app/live.js)

  const notices = TodoLive.notices({ section: $("notices"), csrfToken, timeZone, focusAfter: $("task-results") });

  // ------------------------------------------------------------------ live updates

  const EVENT_WORDS = {
    "todo.task.created": "Added", "todo.task.updated": "Changed", "todo.task.completed": "Completed",
    "todo.task.reopened": "Reopened", "todo.task.deleted": "Deleted", "todo.task.undone": "Undone",
  };

  function onLive(message) {
    notices.onLive(message);
    const local = state.localChanges.get(message.task_id);
    const word = EVENT_WORDS[message.type];
    if (word && !(local && Date.now() - local < 5000)) {
      const known = state.rows.get(message.task_id);
      const title = message.task ? message.task.title : known ? known.task.title : null;
      if (title) announce(`${word} “${title}”.`);
    }
    refresh();
    if (message.type !== "todo.reminder.due") loadTags();
  }

  const LIVE_TEXT = {
    connecting: "Connecting to live updates…",
    open: "Live: changes appear as they happen",
    offline: "Live updates interrupted; reconnecting…",
    denied: "Your session has ended. ",
  };
  function setLive(mode) {
    root.dataset.live = mode;
    const status = $("live-status");
    status.className = "live-status " + mode;
    const text = status.querySelector(".text");
    text.textContent = LIVE_TEXT[mode];
    if (mode === "denied") {
      text.append(el("a", { href: "/accounts/login/?next=" + encodeURIComponent(location.pathname + location.search), text: "Log in again" }));
    }
  }

  // ------------------------------------------------------------------ filters

  let searchTimer = null;
  filters.addEventListener("input", (event) => {
    if (event.target.name !== "q") return;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(filtersChanged, SEARCH_DELAY_MS);
  });
  filters.addEventListener("change", (event) => {
    if (event.target.name === "q") return;
    filtersChanged();
  });
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    filtersChanged();
  });
  filters.addEventListener("reset", () => setTimeout(filtersChanged, 0));
  $("show-more").addEventListener("click", () => {
    state.limit = Math.min(maxPageSize, state.limit + pageSize);
    refresh();
  });

  // ------------------------------------------------------------------ undo

  const undoButton = $("undo-last");

  // Right after a change made here the button says what it will do; it always undoes the last change.
  function offerUndo() {
    undoButton.textContent = "Undo that";
    setStatus($("undo-status"), "");
  }

  undoButton.addEventListener("click", async () => {
    if (undoButton.getAttribute("aria-busy") === "true") return;
    undoButton.setAttribute("aria-busy", "true");
    try {
      const result = await api("POST", "/api/undo", { count: 1 });
      result.undone.forEach((item) => markLocal(item.task_id));
      const text = "Undone: " + result.undone.map((item) => `“${item.title}” ${item.now}`).join(", ") + ".";
      setStatus($("undo-status"), text);
      announce(text);
      undoButton.textContent = "Undo last change";
      await refresh();
      loadTags();
    } catch (error) {
      setStatus($("undo-status"), error.message, true);
    } finally {
      undoButton.removeAttribute("aria-busy");
    }
  });

  restoreFilters();
  refresh();
  loadTags();
  loadSavedFilters();
  TodoLive.connect({
    onMode: setLive,
    // Whatever changed while disconnected: reload once, now that every later change is pushed.
    onOpen() { refresh(); loadTags(); notices.loadUnread(); },
    onMessage: onLive,
  });
})();
