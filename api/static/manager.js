// The manager page (/console/manager), coded against docs/agent-console.md: create, edit and delete
// canned responses, and read the audit log; the knowledge-base panel is articles.js. Text from the
// server only ever reaches the page as text nodes (textContent), never as HTML.
"use strict";

const MANAGER_ROLES = ["manager", "admin"];
const AUDIT_LIMIT = 200;

const t = I18n.t;
const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  canned: [],
  audit: [],
  editing: null, // the canned response being edited; null while writing a new one
};

/* ---------- page state ---------- */

/** Only one of: signed out, not a manager, the manager panels. */
function showView(view) {
  $("signed-out").hidden = view !== "signed-out";
  $("forbidden").hidden = view !== "forbidden";
  $("articles-panel").hidden = view !== "manager";
  $("canned-panel").hidden = view !== "manager";
  $("audit-panel").hidden = view !== "manager";
}

function report(error) {
  if (error.status === 401) showView("signed-out");
  else showError(error.message);
}

async function attempt(action) {
  clearError();
  try {
    await action();
    return true;
  } catch (error) {
    report(error);
    return false;
  }
}

function formatTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(I18n.language, { dateStyle: "short", timeStyle: "medium" });
}

/* ---------- canned responses ---------- */

async function loadCanned() {
  await attempt(async () => {
    state.canned = await api("/api/manager/canned");
    renderCanned();
  });
}

function renderCanned() {
  const entries = state.canned.length
    ? state.canned.map(cannedEntry)
    : [h("li", { className: "muted", text: t("cannedAdmin.empty") })];
  $("canned-list").replaceChildren(...entries);
}

function cannedEntry(canned) {
  const edit = h("button", { text: t("cannedAdmin.edit") });
  edit.type = "button";
  edit.addEventListener("click", () => startEditing(canned));
  const remove = h("button", { text: t("cannedAdmin.delete") });
  remove.type = "button";
  remove.addEventListener("click", () => deleteCanned(canned));
  return h("li", { className: "canned-entry" }, [
    h("div", { className: "row" }, [
      h("strong", { text: canned.title }),
      h("span", { className: "badge priority-normal", text: canned.language }),
    ]),
    h("div", { className: "message-text", text: canned.text }),
    h("div", { className: "row" }, [edit, remove]),
  ]);
}

function startEditing(canned) {
  state.editing = canned;
  $("canned-title").value = canned.title;
  $("canned-language").value = canned.language;
  $("canned-text").value = canned.text;
  renderFormHeading();
  $("canned-title").focus();
}

function stopEditing() {
  state.editing = null;
  $("canned-form").reset();
  renderFormHeading();
}

function renderFormHeading() {
  $("canned-form-heading").textContent = t(state.editing ? "cannedAdmin.editing" : "cannedAdmin.new");
  $("canned-cancel").hidden = !state.editing;
}

async function saveCanned(event) {
  event.preventDefault();
  const body = {
    title: $("canned-title").value.trim(),
    language: $("canned-language").value,
    text: $("canned-text").value.trim(),
  };
  if (!body.title || !body.text) {
    showError(t("cannedAdmin.required"));
    return;
  }
  const path = state.editing
    ? `/api/manager/canned/${encodeURIComponent(state.editing.id)}`
    : "/api/manager/canned";
  const saved = await attempt(() => api(path, { method: state.editing ? "PUT" : "POST", body }));
  if (saved) {
    stopEditing();
    await refresh();
  }
}

async function deleteCanned(canned) {
  if (!window.confirm(t("cannedAdmin.confirmDelete", { title: canned.title }))) return;
  const path = `/api/manager/canned/${encodeURIComponent(canned.id)}`;
  if (await attempt(() => api(path, { method: "DELETE" }))) {
    if (state.editing && state.editing.id === canned.id) stopEditing();
    await refresh();
  }
}

/** Puts a placeholder such as {customer_name} at the cursor of the text box. */
function insertPlaceholder(event) {
  const placeholder = event.target.closest("[data-placeholder]");
  if (!placeholder) return;
  const box = $("canned-text");
  box.setRangeText(placeholder.dataset.placeholder, box.selectionStart, box.selectionEnd, "end");
  box.focus();
}

/* ---------- audit log ---------- */

async function loadAudit() {
  await attempt(async () => {
    state.audit = await api(`/api/manager/audit?limit=${AUDIT_LIMIT}`);
    renderAudit();
  });
}

function renderAudit() {
  if (!state.audit.length) {
    const cell = h("td", { className: "muted", text: t("audit.empty") });
    cell.colSpan = 5;
    $("audit-body").replaceChildren(h("tr", {}, [cell]));
    return;
  }
  $("audit-body").replaceChildren(...state.audit.map(auditRow));
}

function auditRow(entry) {
  const cells = [formatTime(entry.at), actorName(entry.actor), entry.action, entry.target ?? ""];
  return h("tr", {}, [
    ...cells.map((text) => h("td", { text })),
    h("td", {}, [h("code", { text: auditData(entry.data) })]),
  ]);
}

const actorName = (actor) =>
  actor && typeof actor === "object" ? (actor.display_name ?? actor.username ?? "") : (actor ?? "");

function auditData(data) {
  if (data === null || data === undefined) return "";
  return typeof data === "string" ? data : JSON.stringify(data);
}

/* ---------- start ---------- */

async function refresh() {
  await Promise.all([loadCanned(), loadAudit()]);
}

async function start() {
  try {
    state.me = await api("/api/auth/me");
  } catch (error) {
    if (error.status === 401) showView("signed-out");
    else showError(error.message);
    return;
  }
  $("agent-name").textContent = state.me.display_name;
  if (!MANAGER_ROLES.includes(state.me.role)) {
    showView("forbidden");
    return;
  }
  showView("manager");
  await Promise.all([refresh(), ArticlesPanel.start({ report, saved: loadAudit })]);
}

function rerenderForLanguage() {
  ArticlesPanel.rerender();
  renderFormHeading();
  renderCanned();
  renderAudit();
}

I18n.apply();
I18n.bindSwitch($("lang-switch"));
I18n.onChange(rerenderForLanguage);
$("error-dismiss").addEventListener("click", clearError);
$("canned-form").addEventListener("submit", saveCanned);
$("canned-cancel").addEventListener("click", stopEditing);
$("audit-refresh").addEventListener("click", loadAudit);
document.querySelector(".placeholders").addEventListener("click", insertPlaceholder);
start();
