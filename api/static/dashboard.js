// The manager dashboard (/console/dashboard), coded against docs/dashboard.md: the support KPIs
// of docs/kpis.md over a range of days, narrowed by the filters, as tiles, charts (Chart.js),
// the agents' table and a CSV download. Range and filters live in the URL (reports.js). Every
// chart has its figures in a table beside it, for screen readers and for a page without
// Chart.js. Text from the server only ever reaches the page as text (textContent).
"use strict";

const FILTERS = ["channel", "language", "handled_by", "agent"];
const FILTER_VALUES = { channel: ["web", "sms"], language: ["ru", "en"], handled_by: ["bot", "human"] };
const WEEKLY_AFTER_DAYS = 62; // longer ranges are charted by week: single days get too thin
const CSV_DEFAULT_BY = "day";
const DURATION_STEPS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800];
const COLORS = {
  blue: "#1d4ed8",
  green: "#15803d",
  orange: "#c2410c",
  purple: "#7c3aed",
  teal: "#0f766e",
  grey: "#9ca3af",
  rose: "#be123c",
};

const state = {
  agents: [], // every agent, for the agent filter
  reports: null, // the KPI reports by breakdown: trend (day or week), weeks, channels, agents
  sort: { column: "conversations", descending: true },
  loads: 0, // the latest load wins: an earlier answer arriving late is dropped
};
const charts = new Map(); // chart id -> its Chart

/* ---------- figures as text ---------- */

const count = (value) => new Intl.NumberFormat(I18n.language).format(value);

function percent(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(I18n.language, { style: "percent", maximumFractionDigits: 1 }).format(value);
}

/** Seconds in its two largest units ("3 min, 5 sec", "2 hr, 10 min"): as precise as a
 * dashboard needs; the platform writes them in the page's language. */
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  let rest = Math.round(seconds);
  const parts = {};
  for (const [unit, size] of [["days", 86400], ["hours", 3600], ["minutes", 60], ["seconds", 1]]) {
    parts[unit] = Math.floor(rest / size);
    rest %= size;
  }
  const units = Object.keys(parts);
  const first = Math.max(0, units.findIndex((unit) => parts[unit] > 0));
  const shown = Object.fromEntries(units.slice(first, first + 2).map((unit) => [unit, parts[unit]]));
  return new Intl.DurationFormat(I18n.language, { style: "short" }).format(shown);
}

const ofTotal = (rate) => t("kpi.ofTotal", { numerator: count(rate.numerator), denominator: count(rate.denominator) });

/** "sms" as "SMS": a value in words; one with no words (a new channel) as it is. */
function inWords(prefix, value) {
  const key = `${prefix}.${value}`;
  const words = t(key);
  return words === key ? value : words;
}

/** A group's name: days and weeks as dates, channels and the like in words. */
function groupName(report, group) {
  if (group.key === null) return t(report.by === "agent" ? "dashboard.unassigned" : "dashboard.unknown");
  if (report.by === "day") {
    const day = new Date(`${group.key}T00:00:00Z`);
    return day.toLocaleDateString(I18n.language, { day: "numeric", month: "short", timeZone: "UTC" });
  }
  if (report.by === "channel") return inWords("channel", group.key);
  return group.label;
}

/* ---------- tiles ---------- */

/** A KPI: its name, value, what it counts (n) and what it means, with the report's own
 * follow-up windows (they are settings). */
function tile(id, value, details) {
  const { deflection_hours: deflection, fcr_hours: fcr } = state.reports.trend.window;
  return h("article", { className: "kpi-tile", testid: `kpi-${id}` }, [
    h("h3", { text: t(`kpi.${id}`) }),
    h("p", { className: "kpi-value", testid: `kpi-${id}-value`, text: value }),
    ...details.map((text) => h("p", { className: "kpi-detail", text })),
    h("p", { className: "kpi-meaning", text: t(`kpi.${id}.meaning`, { deflection, fcr }) }),
  ]);
}

const rateTile = (id, rate) => tile(id, percent(rate.value), [ofTotal(rate)]);

const durationTile = (id, figure) =>
  tile(id, duration(figure.median_s), [
    t("kpi.durationDetail", { p90: duration(figure.p90_s), count: count(figure.count) }),
  ]);

function ratingTile(id, rating, more = []) {
  const mean = rating.mean === null ? "—" : rating.mean.toLocaleString(I18n.language, { maximumFractionDigits: 2 });
  return tile(id, percent(rating.share_4_5.value), [
    t("kpi.ratingDetail", { share: ofTotal(rating.share_4_5), mean }),
    ...more,
  ]);
}

function renderTiles(kpis) {
  const response = kpis.csat.response_rate;
  $("tiles").replaceChildren(
    tile("contacts", count(kpis.contacts), []),
    rateTile("self_service_rate", kpis.self_service_rate),
    rateTile("escalation_rate", kpis.escalation_rate),
    durationTile("first_response_time", kpis.first_response_time),
    durationTile("resolution_time", kpis.resolution_time),
    ratingTile("csat", kpis.csat, [t("kpi.responseRate", { rate: percent(response.value), n: ofTotal(response) })]),
    ratingTile("ces", kpis.ces),
    rateTile("first_contact_resolution", kpis.first_contact_resolution),
    rateTile("sla_first_response", kpis.sla_first_response),
    rateTile("sla_resolution", kpis.sla_resolution),
    durationTile("queue_wait", kpis.queue_wait),
    rateTile("abandonment_rate", kpis.abandonment_rate),
    rateTile("bot_answer_acceptance", kpis.bot_answer_acceptance),
  );
}

/* ---------- charts ---------- */

const RATE_AXIS = { format: percent, max: 1 };
const CHARTS = [
  {
    id: "contacts", source: "trend", type: "bar", stacked: true, format: count,
    series: [
      { name: "botResolved", color: COLORS.green, value: (k) => k.bot_resolution_time.count },
      { name: "handedOver", color: COLORS.blue, value: (k) => k.escalation_rate.numerator },
      { name: "otherContacts", color: COLORS.grey,
        value: (k) => k.contacts - k.bot_resolution_time.count - k.escalation_rate.numerator },
    ],
  },
  {
    id: "rates", source: "trend", type: "line", ...RATE_AXIS,
    series: [
      { name: "selfService", color: COLORS.green, value: (k) => k.self_service_rate.value },
      { name: "escalation", color: COLORS.orange, value: (k) => k.escalation_rate.value },
    ],
  },
  {
    id: "firstResponse", source: "trend", type: "line", format: duration,
    series: [
      { name: "median", color: COLORS.blue, value: (k) => k.first_response_time.median_s },
      { name: "p90", color: COLORS.purple, value: (k) => k.first_response_time.p90_s },
    ],
  },
  {
    id: "csatByWeek", source: "weeks", type: "bar", ...RATE_AXIS,
    series: [{ name: "csatShare", color: COLORS.teal, value: (k) => k.csat.share_4_5.value }],
  },
  {
    id: "channels", source: "channels", type: "bar", ...RATE_AXIS,
    series: [
      { name: "selfService", color: COLORS.green, value: (k) => k.self_service_rate.value },
      { name: "escalation", color: COLORS.orange, value: (k) => k.escalation_rate.value },
      { name: "csatShare", color: COLORS.teal, value: (k) => k.csat.share_4_5.value },
      { name: "fcr", color: COLORS.purple, value: (k) => k.first_contact_resolution.value },
      { name: "slaFirstResponse", color: COLORS.rose, value: (k) => k.sla_first_response.value },
    ],
  },
];

/** A chart's place: its heading, the canvas (an image to assistive technology, named after
 * the chart) and the same figures as a table. */
function chartPanel(spec) {
  const canvas = h("canvas", { id: `chart-${spec.id}`, testid: `chart-${spec.id}`, role: "img" });
  return h("figure", { className: "panel chart-panel" }, [
    h("h2", { id: `chart-${spec.id}-title` }),
    h("div", { className: "chart-box" }, [canvas]),
    h("details", { className: "chart-data" }, [
      h("summary", { "data-i18n": "dashboard.chartData" }),
      h("table", { className: "data-table", id: `chart-${spec.id}-table`, testid: `chart-${spec.id}-table` }, [h("thead"), h("tbody")]),
    ]),
  ]);
}

function drawChart(spec) {
  const report = state.reports[spec.source];
  const labels = report.groups.map((group) => groupName(report, group));
  const series = spec.series.map((line) => ({
    label: t(`series.${line.name}`),
    data: report.groups.map((group) => line.value(group.kpis)),
    backgroundColor: line.color,
    borderColor: line.color,
  }));
  const title = t(`chart.${spec.id}`);
  $(`chart-${spec.id}-title`).textContent = title;
  const canvas = $(`chart-${spec.id}`);
  canvas.setAttribute("aria-label", t("dashboard.chartLabel", { title }));
  fillChartTable(spec, report, labels, series);
  charts.get(spec.id)?.destroy();
  if (typeof Chart === "undefined") return;
  charts.set(spec.id, new Chart(canvas, { type: spec.type, data: { labels, datasets: series }, options: chartOptions(spec, series) }));
}

/** A duration axis in whole minutes or hours rather than steps of "1 min, 40 sec". */
function durationStep(series) {
  const top = Math.max(0, ...series.flatMap((line) => line.data).filter((value) => value !== null));
  return DURATION_STEPS.find((step) => top / step <= 8) ?? DURATION_STEPS.at(-1);
}

function chartOptions(spec, series) {
  const stacked = Boolean(spec.stacked);
  const stepSize = spec.format === duration ? durationStep(series) : undefined;
  return {
    animation: false,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    scales: {
      x: { stacked },
      y: { stacked, beginAtZero: true, max: spec.max, ticks: { stepSize, callback: (value) => spec.format(value) } },
    },
    plugins: {
      legend: { position: "bottom" },
      tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${spec.format(item.raw)}` } },
    },
  };
}

function fillChartTable(spec, report, labels, series) {
  const table = $(`chart-${spec.id}-table`);
  const head = h("tr", {}, [
    h("th", { scope: "col", text: t(`dashboard.by.${report.by}`) }),
    ...series.map((line) => h("th", { scope: "col", text: line.label })),
  ]);
  const rows = labels.map((label, index) =>
    h("tr", {}, [
      h("th", { scope: "row", text: label }),
      ...series.map((line) => h("td", { text: spec.format(line.data[index]) })),
    ]),
  );
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...rows);
}

/* ---------- the agents' table ---------- */

const AGENT_COLUMNS = [
  { id: "agent", value: (group) => group.name },
  { id: "conversations", value: (group) => group.kpis.contacts, format: count },
  { id: "firstResponse", value: (group) => group.kpis.first_response_time.median_s, format: duration },
  { id: "resolution", value: (group) => group.kpis.resolution_time.median_s, format: duration },
  { id: "csat", rate: (kpis) => kpis.csat.share_4_5 },
  { id: "fcr", rate: (kpis) => kpis.first_contact_resolution },
  { id: "slaFirstResponse", rate: (kpis) => kpis.sla_first_response },
  { id: "slaResolution", rate: (kpis) => kpis.sla_resolution },
];

const columnValue = (column, group) => (column.rate ? column.rate(group.kpis).value : column.value(group));

function agentCell(column, group) {
  if (column.id === "agent") return h("th", { scope: "row", text: group.name });
  if (!column.rate) return h("td", { text: column.format(column.value(group)) });
  const rate = column.rate(group.kpis);
  return h("td", {}, [percent(rate.value), " ", h("span", { className: "muted", text: ofTotal(rate) })]);
}

/** Sorted by the chosen column; the conversations nobody holds, and then groups without the
 * figure, last whichever the direction. */
function sortedAgents() {
  const report = state.reports.agents;
  const groups = report.groups.map((group) => ({ ...group, name: groupName(report, group) }));
  const column = AGENT_COLUMNS.find((candidate) => candidate.id === state.sort.column);
  const direction = state.sort.descending ? -1 : 1;
  return groups.sort((a, b) => {
    if (a.key === null || b.key === null) return (a.key === null) - (b.key === null);
    const [x, y] = [columnValue(column, a), columnValue(column, b)];
    if (x === null || y === null) return (x === null) - (y === null);
    return direction * (typeof x === "string" ? x.localeCompare(y, I18n.language) : x - y);
  });
}

function renderAgentTable() {
  const head = AGENT_COLUMNS.map((column) => {
    const sorted = state.sort.column === column.id;
    const button = h("button", { className: "sort", text: t(`agents.${column.id}`) });
    button.type = "button";
    button.addEventListener("click", () => sortAgents(column.id));
    const order = sorted ? (state.sort.descending ? "descending" : "ascending") : "none";
    return h("th", { scope: "col", "aria-sort": order }, [button]);
  });
  $("agents-table").tHead.replaceChildren(h("tr", {}, head));
  const rows = sortedAgents().map((group) =>
    h("tr", { testid: "agent-row" }, AGENT_COLUMNS.map((column) => agentCell(column, group))),
  );
  if (!rows.length) {
    const empty = h("td", { className: "muted", text: t("agents.empty") });
    empty.colSpan = AGENT_COLUMNS.length;
    rows.push(h("tr", {}, [empty]));
  }
  $("agents-table").tBodies[0].replaceChildren(...rows);
}

function sortAgents(columnId) {
  const same = state.sort.column === columnId;
  state.sort = { column: columnId, descending: same ? !state.sort.descending : columnId !== "agent" };
  renderAgentTable();
}

/* ---------- filters, the CSV link and loading ---------- */

/** Range and filters from the URL, as the API takes them; `by` added when given. */
function reportQuery(by) {
  const query = urlState();
  const params = rangeQuery();
  for (const name of FILTERS) if (query.get(name)) params.set(name, query.get(name));
  if (by) params.set("by", by);
  return params;
}

function rangeDays(params) {
  if (params.has("days")) return Number(params.get("days"));
  return (new Date(params.get("to")) - new Date(params.get("from"))) / 86400000;
}

function renderFilters() {
  const query = urlState();
  for (const name of FILTERS) {
    const values = name === "agent" ? state.agents.map((agent) => agent.id) : FILTER_VALUES[name];
    const chosen = query.get(name) ?? "";
    const options = [h("option", { value: "", text: t("filter.all") })];
    for (const value of new Set([...values, ...(chosen ? [chosen] : [])])) {
      options.push(h("option", { value, text: filterValueName(name, value) }));
    }
    $(`filter-${name}`).replaceChildren(...options);
    $(`filter-${name}`).value = chosen;
  }
}

function filterValueName(name, value) {
  if (name === "agent") {
    const agent = state.agents.find((candidate) => candidate.id === value);
    if (!agent) return value;
    return agent.disabled ? t("filter.disabledAgent", { name: agent.display_name }) : agent.display_name;
  }
  return inWords(name === "language" ? "lang" : name, value);
}

function renderCsvLink() {
  $("csv-link").href = `/api/manager/kpis.csv?${reportQuery($("csv-by").value)}`;
}

async function load() {
  clearError();
  renderFilters();
  renderCsvLink();
  const ticket = ++state.loads;
  const breakdowns = {
    trend: rangeDays(rangeQuery()) > WEEKLY_AFTER_DAYS ? "week" : "day",
    weeks: "week",
    channels: "channel",
    agents: "agent",
  };
  $("report").setAttribute("aria-busy", "true");
  try {
    const wanted = [...new Set(Object.values(breakdowns))];
    const answers = await Promise.all(wanted.map((by) => api(`/api/manager/kpis?${reportQuery(by)}`)));
    if (ticket !== state.loads) return;
    const byBreakdown = Object.fromEntries(wanted.map((by, index) => [by, answers[index]]));
    state.reports = Object.fromEntries(Object.entries(breakdowns).map(([name, by]) => [name, byBreakdown[by]]));
    render();
  } catch (error) {
    if (ticket === state.loads) reportError(error);
  } finally {
    if (ticket === state.loads) $("report").removeAttribute("aria-busy");
  }
}

function render() {
  if (!state.reports) return;
  showRange(state.reports.trend.window, $("range-note"), "range.conversations");
  renderTiles(state.reports.trend.overall);
  for (const spec of CHARTS) drawChart(spec);
  renderAgentTable();
}

function changeFilter(event) {
  const name = event.target.id.replace("filter-", "");
  setUrlState({ [name]: event.target.value });
  load();
}

/* ---------- start ---------- */

async function start() {
  if (!(await signedInManager())) return;
  $("charts-missing").hidden = typeof Chart !== "undefined";
  try {
    state.agents = await api("/api/manager/agents");
  } catch (error) {
    reportError(error);
  }
  await load();
}

$("range-slot").replaceWith(rangeControls(load));
$("charts").replaceChildren(...CHARTS.map(chartPanel));
for (const details of document.querySelectorAll(".chart-data")) details.open = typeof Chart === "undefined";
I18n.apply();
I18n.bindSwitch($("lang-switch"));
I18n.onChange(() => {
  renderFilters();
  render();
});
$("error-dismiss").addEventListener("click", clearError);
for (const name of FILTERS) $(`filter-${name}`).addEventListener("change", changeFilter);
$("csv-by").addEventListener("change", renderCsvLink);
$("csv-by").value = CSV_DEFAULT_BY;
start();
