// What the two report pages, the dashboard (/console/dashboard) and the knowledge-base gaps
// (/console/gaps), share: the manager check, and the range of days they report on. The range is
// a preset ("the last 7 days", which moves on with the calendar) or two chosen dates; it lives
// in the page's URL, with the page's filters, so that a view can be bookmarked or sent.
// The API takes the range as `days`, or as `from` and `to` (the day after the last one).
"use strict";

const MANAGER_ROLES = ["manager", "admin"];
const PRESET_DAYS = [7, 30, 90];
const DEFAULT_DAYS = 30; // the server's default too

const t = I18n.t;
const $ = (id) => document.getElementById(id);

/* ---------- the URL ---------- */

const urlState = () => new URLSearchParams(location.search);

/** Sets the query keys in `changes` (null or "" removes one) and adds the view to the history. */
function setUrlState(changes) {
  const query = urlState();
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") query.delete(name);
    else query.set(name, value);
  }
  const search = query.toString();
  history.pushState(null, "", search ? `${location.pathname}?${search}` : location.pathname);
}

/** The range in the URL, as the API takes it. */
function rangeQuery() {
  const query = urlState();
  const params = new URLSearchParams();
  if (query.has("from") || query.has("to")) {
    params.set("from", query.get("from") ?? "");
    params.set("to", query.get("to") ?? "");
  } else {
    params.set("days", query.get("days") || DEFAULT_DAYS);
  }
  return params;
}

/* ---------- days ---------- */

/** "2026-11-23" moved by `days`: the arithmetic is on UTC midnights, free of time zones. */
function addDays(isoDay, days) {
  const moment = new Date(`${isoDay}T00:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() + days);
  return moment.toISOString().slice(0, 10);
}

const formatDay = (isoDay) =>
  new Date(`${isoDay}T00:00:00Z`).toLocaleDateString(I18n.language, { dateStyle: "medium", timeZone: "UTC" });

/* ---------- the range controls ---------- */

/** The period's fieldset: preset buttons and two dates (the last one included, unlike the
 * API's `to`). `onChange` runs after the URL has changed. */
function rangeControls(onChange) {
  const presets = PRESET_DAYS.map((days) => {
    const button = h("button", { className: "preset", testid: `preset-${days}`, "data-days": days });
    button.type = "button";
    button.addEventListener("click", () => {
      setUrlState({ days, from: null, to: null });
      onChange();
    });
    return button;
  });
  const from = h("input", { id: "range-from", testid: "range-from", type: "date", required: "" });
  const through = h("input", { id: "range-through", testid: "range-through", type: "date", required: "" });
  const apply = h("button", { testid: "range-apply", "data-i18n": "range.apply" });
  apply.type = "button";
  apply.addEventListener("click", () => {
    if (!from.value || !through.value || through.value < from.value) {
      showError(t("range.invalid"));
      return;
    }
    setUrlState({ days: null, from: from.value, to: addDays(through.value, 1) });
    onChange();
  });
  window.addEventListener("popstate", onChange);
  return h("fieldset", { className: "range", id: "range" }, [
    h("legend", { "data-i18n": "range.legend" }),
    h("div", { className: "row" }, [
      ...presets,
      h("label", { className: "inline-field" }, [h("span", { "data-i18n": "range.from" }), from]),
      h("label", { className: "inline-field" }, [h("span", { "data-i18n": "range.through" }), through]),
      apply,
    ]),
  ]);
}

/** Shows the window the server reported on: its dates in the inputs, the preset pressed if
 * one is in use, and in `note` the sentence `noteKey` saying what the figures cover. */
function showRange(window, note, noteKey) {
  const query = urlState();
  const preset = query.has("from") || query.has("to") ? null : Number(query.get("days") || DEFAULT_DAYS);
  for (const button of document.querySelectorAll("#range .preset")) {
    const days = Number(button.dataset.days);
    button.textContent = t("range.lastDays", { days });
    button.setAttribute("aria-pressed", String(days === preset));
  }
  const through = addDays(window.to, -1);
  $("range-from").value = window.from;
  $("range-through").value = through;
  note.textContent = t(noteKey, {
    from: formatDay(window.from),
    through: formatDay(through),
    timezone: window.timezone,
  });
}

/* ---------- who may see it ---------- */

/** Only one of: signed out, not a manager, the report (`#report`). */
function showView(view) {
  $("signed-out").hidden = view !== "signed-out";
  $("forbidden").hidden = view !== "forbidden";
  $("report").hidden = view !== "report";
}

/** The errors of the report pages: a lapsed session says so, anything else in the banner. */
function reportError(error) {
  if (error.status === 401) showView("signed-out");
  else showError(error.message);
}

/** The signed-in manager, or null (the page then says why it shows nothing). */
async function signedInManager() {
  let me;
  try {
    me = await api("/api/auth/me");
  } catch (error) {
    reportError(error);
    return null;
  }
  $("agent-name").textContent = me.display_name;
  if (!MANAGER_ROLES.includes(me.role)) {
    showView("forbidden");
    return null;
  }
  showView("report");
  return me;
}
