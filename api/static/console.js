// The agent console (/console), coded against docs/agent-console.md: sign-in, the live queue from
// WS /api/agent/stream, and one conversation at a time (handoff record, transcript, internal notes,
// vouchers, reply box and actions). Text from the server or the customer only ever reaches the
// page as text nodes (textContent), never as HTML.
"use strict";

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
const TYPING_IDLE_MS = 3000;
const CUSTOMER_TYPING_TIMEOUT_MS = 15000; // hides a "typing" whose "stopped" never came
const PRIORITIES = ["urgent", "high", "normal"];
const SENDERS = ["customer", "bot", "agent", "system"];
const FINISHED_STATES = ["resolved", "closed"];
const MANAGER_ROLES = ["manager", "admin"];
/* An SMS's delivery status: the order it moves in, and the ends that mean the customer did not get
 * it (blocked: the number opted out with STOP). */
const DELIVERY_ORDER = ["pending", "queued", "accepted", "sending", "sent", "delivered"];
const DELIVERY_FAILURES = ["undelivered", "failed", "blocked"];

const t = I18n.t;
const $ = (id) => document.getElementById(id);

const state = {
  me: null, // Agent
  queue: { queued: [], mine: [], agents: [] },
  openId: null, // the conversation being opened or shown
  detail: null, // its Detail once loaded
  canned: [],
  voucherTypes: [],
  kbHits: null, // the last knowledge-base search's hits; null before any
  busy: false, // an action is in flight: its buttons are disabled
  live: false,
  clockOffsetMs: 0, // the server's clock minus this browser's
};
const drafts = new Map(); // conversation id -> unsent reply text
const earlyDeliveries = new Map(); // message id -> a delivery event that came before its message
const stream = { socket: null, retryMs: RETRY_MIN_MS, timer: null };

/* ---------- HTTP (api() is in page.js) ---------- */

const conversationPath = (id) => `/api/agent/conversations/${encodeURIComponent(id)}`;

/** A fresh client_message_id; randomUUID exists only on https and localhost pages. */
function newMessageId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/* ---------- errors and busy state ---------- */

function report(error) {
  if (error.status === 401 && state.me) showLogin();
  else showError(error.message);
}

/** Runs one user action: clears the old error, disables the action buttons meanwhile, reports
 * failure. True when it succeeded. */
async function attempt(action) {
  clearError();
  state.busy = true;
  renderControls();
  try {
    await action();
    return true;
  } catch (error) {
    report(error);
    return false;
  } finally {
    state.busy = false;
    renderControls();
  }
}

/* ---------- small helpers ---------- */

/** The translation of `prefix.value`, or the value itself when there is none. */
function label(prefix, value) {
  const key = `${prefix}.${value}`;
  const text = t(key);
  return text === key ? String(value ?? "—") : text;
}

/** An agent given as a display name or as {id, display_name}. */
function personName(person) {
  if (person && typeof person === "object") return person.display_name ?? person.username ?? "";
  return person ?? "";
}

/** "web", "sms" in words; an unknown channel as it is. */
const channelName = (channel) => (channel ? label("channel", channel) : "");

const percent = (score) => (typeof score === "number" ? `${Math.round(score * 100)}%` : "—");

function formatDuration(seconds) {
  const total = Math.floor(Math.max(0, seconds));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, "0");
  if (days) return `${days}${t("unit.day")} ${hours}${t("unit.hour")}`;
  if (hours) return `${hours}:${String(minutes).padStart(2, "0")}:${rest}`;
  return `${minutes}:${rest}`;
}

function formatTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "";
  const today = date.toDateString() === new Date().toDateString();
  const options = today ? { timeStyle: "short" } : { dateStyle: "short", timeStyle: "short" };
  return date.toLocaleString(I18n.language, options);
}

const serverNow = () => Date.now() + state.clockOffsetMs;

/** Estimates the server's clock from a waiting item, so that local clocks that are off do not matter. */
function learnClockOffset(items) {
  const item = items.find((each) => each.queued_at && typeof each.waiting_s === "number");
  if (item) state.clockOffsetMs = Date.parse(item.queued_at) + item.waiting_s * 1000 - Date.now();
}

function priorityBadge(priority) {
  const known = PRIORITIES.includes(priority) ? priority : "normal";
  return h("span", { className: `badge priority-${known}`, text: label("priority", priority) });
}

const vipBadge = () => h("span", { className: "badge vip", text: `★ ${t("vip")}` });

/** Tells the customer's page whether the agent is typing: true at once, false after idleMs or stop(). */
function typingSignal(send, idleMs) {
  let active = false;
  let timer = null;
  const stop = () => {
    clearTimeout(timer);
    if (active) {
      active = false;
      send(false);
    }
  };
  const keystroke = () => {
    if (!active) {
      active = true;
      send(true);
    }
    clearTimeout(timer);
    timer = setTimeout(stop, idleMs);
  };
  return { keystroke, stop };
}

const replyTyping = typingSignal((typing) => {
  if (state.detail) sendEvent({ type: "typing", conversation_id: state.detail.conversation.id, typing });
}, TYPING_IDLE_MS);

/* ---------- signing in ---------- */

async function checkSession() {
  let agent;
  try {
    agent = await api("/api/auth/me");
  } catch (error) {
    if (error.status !== 401) showError(error.message);
    showLogin();
    return;
  }
  startConsole(agent);
}

async function submitLogin(event) {
  event.preventDefault();
  const error = $("login-error");
  error.hidden = true;
  $("login-submit").disabled = true;
  try {
    const body = { username: $("login-username").value, password: $("login-password").value };
    const { agent } = await api("/api/auth/login", { method: "POST", body });
    $("login-password").value = "";
    startConsole(agent);
  } catch (failure) {
    error.textContent = loginFailure(failure);
    error.hidden = false;
  } finally {
    $("login-submit").disabled = false;
  }
}

/** Why signing in failed, in the console's language where the reason is known. */
function loginFailure(failure) {
  if (failure.status === 401) return t("login.wrong");
  if (failure.status === 429) return t("login.tooMany", { seconds: failure.retryAfter });
  return failure.message;
}

async function logout() {
  await attempt(() => api("/api/auth/logout", { method: "POST" }));
  showLogin();
}

function startConsole(agent) {
  clearError();
  state.me = agent;
  renderAgent();
  $("login-view").hidden = true;
  $("agent-bar").hidden = false;
  $("console-view").hidden = false;
  renderQueue();
  connectStream();
  loadVoucherTypes();
}

function showLogin() {
  stopStream();
  closeConversation();
  state.me = null;
  state.queue = { queued: [], mine: [], agents: [] };
  state.kbHits = null;
  renderKbHits();
  drafts.clear();
  $("agent-bar").hidden = true;
  $("console-view").hidden = true;
  $("login-view").hidden = false;
  $("login-username").focus();
}

/* ---------- header ---------- */

function renderAgent() {
  if (!state.me) return;
  $("agent-name").textContent = state.me.display_name;
  $("agent-role").textContent = label("role", state.me.role);
  $("presence").value = state.me.presence;
  $("manager-link").hidden = !MANAGER_ROLES.includes(state.me.role);
  $("dashboard-link").hidden = !MANAGER_ROLES.includes(state.me.role);
}

async function changePresence() {
  const presence = $("presence").value;
  await attempt(async () => {
    state.me = await api("/api/agent/presence", { method: "PUT", body: { presence } });
  });
  renderAgent(); // shows the old value again if the change failed
}

/* ---------- live events ---------- */

function connectStream() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/agent/stream`);
  stream.socket = socket;
  socket.addEventListener("open", () => {
    stream.retryMs = RETRY_MIN_MS;
    setLive(true);
    if (state.detail) rewatch();
  });
  socket.addEventListener("message", (event) => handleEvent(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    if (stream.socket !== socket) return; // closed on purpose
    stream.socket = null;
    setLive(false);
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const delay = stream.retryMs * (0.75 + Math.random() / 2);
  stream.retryMs = Math.min(stream.retryMs * 2, RETRY_MAX_MS);
  stream.timer = setTimeout(reconnect, delay);
}

/** Reconnects unless the session is gone, in which case the sign-in form comes back. */
async function reconnect() {
  try {
    await api("/api/auth/me");
  } catch (error) {
    if (error.status === 401) {
      showLogin();
      return;
    }
  }
  if (state.me) connectStream();
}

function stopStream() {
  clearTimeout(stream.timer);
  const socket = stream.socket;
  stream.socket = null;
  if (socket) socket.close();
  setLive(false);
}

function sendEvent(event) {
  if (stream.socket && stream.socket.readyState === WebSocket.OPEN) stream.socket.send(JSON.stringify(event));
}

const sendWatch = (id) => sendEvent({ type: "watch", conversation_id: id });

/** After a reconnection: watch the open conversation again and catch up on what was missed. */
async function rewatch() {
  const id = state.detail.conversation.id;
  sendWatch(id);
  try {
    const detail = await api(conversationPath(id));
    if (state.detail && state.detail.conversation.id === id) {
      state.detail = detail;
      rerenderConversation();
    }
  } catch (error) {
    report(error);
  }
}

function setLive(live) {
  state.live = live;
  const indicator = $("connection");
  indicator.textContent = t(live ? "queue.live" : "queue.reconnecting");
  indicator.classList.toggle("offline", !live);
}

function handleEvent(event) {
  if (event.type === "queue") {
    applyQueue(event);
    return;
  }
  if (!state.detail || String(event.conversation_id) !== String(state.detail.conversation.id)) return;
  if (event.type === "message") addMessage(event.message);
  else if (event.type === "note") addNote(event.note);
  else if (event.type === "conversation") applyConversation(event.conversation);
  else if (event.type === "typing" && event.sender === "customer") showCustomerTyping(event.typing);
  else if (event.type === "delivery") applyDelivery(event.message_id, event.delivery);
}

/* ---------- the queue ---------- */

function applyQueue(snapshot) {
  state.queue = { queued: snapshot.queued || [], mine: snapshot.mine || [], agents: snapshot.agents || [] };
  learnClockOffset(state.queue.queued);
  renderQueue();
  if (!$("transfer-form").hidden) fillTransferAgents();
}

/** Rebuilds both lists; keyboard focus stays on the item that had it. */
function renderQueue() {
  const focused = document.activeElement?.closest(".queue-item")?.dataset.conversationId;
  fillQueueList($("queue-mine"), state.queue.mine, "queue.emptyMine");
  fillQueueList($("queue-waiting"), state.queue.queued, "queue.emptyWaiting");
  $("mine-count").textContent = `(${state.queue.mine.length})`;
  $("waiting-count").textContent = `(${state.queue.queued.length})`;
  tick();
  if (focused)
    queueButtons()
      .find((button) => button.dataset.conversationId === focused)
      ?.focus();
}

const queueButtons = () => Array.from(document.querySelectorAll(".queue-item"));

function fillQueueList(list, items, emptyKey) {
  const entries = items.length ? items.map(queueEntry) : [h("li", { className: "empty", text: t(emptyKey) })];
  list.replaceChildren(...entries);
}

function queueEntry(item) {
  const waiting = h("span", { className: "waiting" });
  if (item.queued_at) waiting.dataset.since = String(Date.parse(item.queued_at));
  const button = h("button", { type: "button", className: "queue-item", testid: "queue-item" }, [
    h("span", { className: "item-line" }, [
      priorityBadge(item.priority),
      item.vip && vipBadge(),
      h("span", {
        className: "muted",
        text: [item.language, channelName(item.channel)].filter(Boolean).join(" · "),
      }),
      waiting,
    ]),
    h("span", { className: "item-reason", text: reasonText(item.reason) }),
    item.summary && h("span", { className: "item-summary", text: item.summary }),
    h("span", { className: "item-line" }, [
      slaBadge(item),
      item.assignee &&
        h("span", { className: "assignee", text: t("queue.heldBy", { name: personName(item.assignee) }) }),
    ]),
  ]);
  button.dataset.conversationId = item.id;
  if (String(item.id) === String(state.openId)) button.setAttribute("aria-current", "true");
  button.addEventListener("click", () => openConversation(item.id));
  return h("li", {}, [button]);
}

/** The first-response countdown; tick() fills in the time. */
function slaBadge(item) {
  const badge = h("span", { className: "sla" });
  if (item.first_response_left_s === null) {
    badge.classList.add("answered");
    badge.textContent = t("sla.answered");
  } else if (item.first_response_due) {
    badge.dataset.due = String(Date.parse(item.first_response_due));
  }
  return badge;
}

/** Once a second: waiting times and SLA countdowns. */
function tick() {
  const now = serverNow();
  for (const element of document.querySelectorAll("[data-since]")) {
    const seconds = (now - Number(element.dataset.since)) / 1000;
    element.textContent = t("queue.waitingFor", { time: formatDuration(seconds) });
  }
  for (const element of document.querySelectorAll("[data-due]")) {
    const left = (Number(element.dataset.due) - now) / 1000;
    element.classList.toggle("overdue", left < 0);
    element.textContent = t(left < 0 ? "sla.overdue" : "sla.left", { time: formatDuration(Math.abs(left)) });
  }
}

function markOpenItem() {
  for (const button of queueButtons()) {
    if (button.dataset.conversationId === String(state.openId)) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

/* ---------- opening a conversation ---------- */

async function openConversation(id) {
  if (String(id) !== String(state.openId)) {
    leaveConversation();
    state.openId = id;
    $("conversation").hidden = true;
    $("conversation-empty").textContent = t("conversation.loading");
    $("conversation-empty").hidden = false;
  }
  markOpenItem();
  try {
    sendWatch(id); // before loading: nothing said in between is missed
    const detail = await api(conversationPath(id));
    if (String(state.openId) !== String(id)) return; // another one was chosen meanwhile
    const first = !state.detail;
    state.detail = detail;
    if (first) showConversation();
    else rerenderConversation();
  } catch (error) {
    if (String(state.openId) === String(id) && !state.detail) closeConversation();
    report(error);
  }
}

function showConversation() {
  const id = state.detail.conversation.id;
  $("reply-text").value = drafts.get(id) || "";
  renderConversation();
  $("conversation-empty").hidden = true;
  $("conversation").hidden = false;
  // the handoff record first (the body scrolls as a whole in narrow windows)
  for (const scroller of document.querySelectorAll(".conversation-main, .conversation-body")) {
    scroller.scrollTop = 0;
  }
  loadCanned(id);
}

/** Keeps the unsent reply and stops the typing signal of the conversation being left. */
function leaveConversation() {
  replyTyping.stop();
  if (state.detail) drafts.set(state.detail.conversation.id, $("reply-text").value);
  state.detail = null;
  state.canned = [];
  earlyDeliveries.clear();
  showCustomerTyping(false);
  closeTransferForm();
}

function closeConversation() {
  leaveConversation();
  state.openId = null;
  $("conversation").hidden = true;
  $("conversation-empty").textContent = t("conversation.empty");
  $("conversation-empty").hidden = false;
  markOpenItem();
}

function renderConversation() {
  renderConversationBar();
  renderHandoff();
  renderTranscript();
  renderNotes();
  renderVouchers();
}

/** Re-renders in place (new language, caught-up data) without moving the reader. */
function rerenderConversation() {
  const scroller = $("conversation-scroll");
  const top = scroller.scrollTop;
  renderConversation();
  scroller.scrollTop = top;
}

const isMine = (conversation) =>
  Boolean(conversation.assignee && state.me && String(conversation.assignee.id) === String(state.me.id));

function holderText(conversation) {
  if (conversation.state === "resolved") {
    return t("holder.resolved", { code: label("resolution", conversation.resolution_code) });
  }
  if (conversation.state === "closed") return t("holder.closed");
  if (conversation.assignee) {
    return isMine(conversation)
      ? t("holder.you")
      : t("holder.other", { name: personName(conversation.assignee) });
  }
  return t(conversation.state === "queued" ? "holder.queued" : "holder.bot");
}

function renderConversationBar() {
  const { conversation, customer } = state.detail;
  const vip = (customer && customer.vip) || conversation.vip;
  $("conversation-title").replaceChildren(
    (customer && customer.name) || t("customer.unnamed"),
    vip ? vipBadge() : "",
  );
  const holder = $("holder");
  holder.textContent = holderText(conversation);
  holder.classList.toggle("mine", isMine(conversation));
  const meta = [label("state", conversation.state), channelName(conversation.channel), conversation.language];
  if (conversation.reply_later) meta.push(t("holder.replyLater"));
  $("conversation-meta").textContent = meta.filter(Boolean).join(" · ");
  renderControls();
}

function setAvailable(button, available) {
  button.hidden = !available;
  button.disabled = !available || state.busy;
}

/** What the agent may do now: claim a queued conversation; the holder may write and release,
 * transfer or resolve it, and a manager may also release, transfer or resolve someone else's. */
function renderControls() {
  if (!state.detail) return;
  const conversation = state.detail.conversation;
  const open = !FINISHED_STATES.includes(conversation.state);
  const holding = open && isMine(conversation);
  const managing = holding || (conversation.state === "assigned" && MANAGER_ROLES.includes(state.me.role));
  setAvailable($("claim"), open && conversation.state === "queued" && !conversation.assignee);
  for (const id of ["release", "transfer-toggle", "resolve"]) setAvailable($(id), managing);
  $("resolve-field").hidden = !managing;
  if (!managing) closeTransferForm();
  const reply = $("reply-text");
  reply.disabled = !holding;
  reply.placeholder = t(holding ? "reply.placeholder" : "reply.notHolder");
  for (const id of ["canned-select", "voucher-type", "voucher-amount"]) $(id).disabled = !holding;
  for (const id of ["reply-send", "note-send", "voucher-send"]) $(id).disabled = !holding || state.busy;
}

function applyConversation(conversation) {
  state.detail.conversation = conversation;
  renderConversationBar();
}

/* ---------- the handoff record and the customer ---------- */

function renderHandoff() {
  const { conversation, handoff, customer } = state.detail;
  const parts = [h("h2", { text: t("handoff.heading") })];
  if (handoff) {
    parts.push(
      handoffFacts(handoff, conversation),
      intentsSection(handoff.intents || []),
      articlesSection(handoff.articles || []),
      wordsSection(handoff.customer_words || []),
    );
  } else {
    parts.push(h("p", { className: "muted", text: t("handoff.none") }));
  }
  if (customer) parts.push(customerSection(customer));
  $("handoff").replaceChildren(...parts.filter(Boolean));
}

/** Why the bot handed over, in the interface's language (the server sends a code). */
function reasonText(code) {
  if (!code) return "";
  const words = t(`reason.${code}`);
  return words === `reason.${code}` ? code : words;
}

/** A <dl> from [term, <dd>] pairs. */
const facts = (rows) =>
  h(
    "dl",
    { className: "facts" },
    rows.flatMap(([term, definition]) => [h("dt", { text: term }), definition]),
  );

/** Reason, priority, language, channel; what the record lacks comes from the conversation. */
function handoffFacts(handoff, conversation) {
  return facts([
    [t("handoff.reason"), h("dd", { testid: "handoff-reason", text: reasonText(handoff.reason) })],
    [
      t("handoff.priority"),
      h("dd", {}, [priorityBadge(handoff.priority || conversation.priority), conversation.vip && vipBadge()]),
    ],
    [t("handoff.language"), h("dd", { text: handoff.language || conversation.language })],
    [t("handoff.channel"), h("dd", { text: channelName(conversation.channel) })],
  ]);
}

/** A table with a header row; `cells` are strings or elements. */
function table(headings, rows) {
  const head = h(
    "tr",
    {},
    headings.map((heading) => h("th", { scope: "col", text: heading })),
  );
  const body = rows.map((cells) =>
    h(
      "tr",
      {},
      cells.map((cell) => h("td", {}, [cell])),
    ),
  );
  return h("table", { className: "data-table" }, [h("thead", {}, [head]), h("tbody", {}, body)]);
}

function intentsSection(intents) {
  const heading = h("h3", { text: t("handoff.intents") });
  if (!intents.length) {
    return h("div", {}, [heading, h("p", { className: "muted", text: t("handoff.noIntents") })]);
  }
  const headings = [t("intent.text"), t("intent.name"), t("intent.confidence")];
  const rows = intents.map((intent) => [intent.text, intent.intent, percent(intent.confidence)]);
  return h("div", {}, [heading, table(headings, rows)]);
}

function articlesSection(articles) {
  const heading = h("h3", { text: t("handoff.articles") });
  if (!articles.length) {
    return h("div", {}, [heading, h("p", { className: "muted", text: t("handoff.noArticles") })]);
  }
  const list = h("ol", { className: "attempts", testid: "handoff-articles" }, articles.map(articleAttempt));
  return h("div", {}, [heading, list]);
}

function articleAttempt(attempt) {
  const candidates = attempt.candidates || [];
  return h("li", { className: "attempt" }, [
    h("p", { className: "attempt-head" }, [
      h("strong", { text: t("article.query", { query: attempt.query }) }),
      h("span", {
        className: `badge decision-${attempt.decision === "answer" ? "answer" : "other"}`,
        text: label("decision", attempt.decision),
      }),
    ]),
    Boolean(attempt.question) && h("p", { text: articleLine(attempt) }),
    candidates.length > 0 && h("p", { className: "muted", text: t("article.candidates") }),
    candidates.length > 0 &&
      h(
        "ul",
        {},
        candidates.map((candidate) => h("li", { text: articleLine(candidate) })),
      ),
    h("p", {
      className: `reaction reaction-${attempt.reaction ? "given" : "none"}`,
      text: reactionText(attempt),
    }),
  ]);
}

const articleLine = (article) =>
  `${article.question} (${article.article_id}) · ${t("article.score", { score: percent(article.score) })}`;

/** "helped", "did_not_help", "chose <article id>" or none, in words. */
function reactionText(attempt) {
  const reaction = attempt.reaction;
  if (!reaction) return t("reaction.none");
  if (reaction.startsWith("chose ")) {
    const id = reaction.slice("chose ".length);
    const chosen = (attempt.candidates || []).find((candidate) => String(candidate.article_id) === id);
    return t("reaction.chose", { article: chosen ? `${chosen.question} (${id})` : id });
  }
  return label("reaction", reaction);
}

function wordsSection(words) {
  if (!words.length) return null;
  return h("div", {}, [
    h("h3", { text: t("handoff.words") }),
    h(
      "ul",
      { className: "quotes" },
      words.map((word) => h("li", { text: String(word) })),
    ),
  ]);
}

function customerSection(customer) {
  const name = h("p", { className: "customer-name" }, [
    customer.name || t("customer.unnamed"),
    customer.vip && vipBadge(),
  ]);
  const earlier = customer.earlier || [];
  const history = earlier.length
    ? earlierTable(earlier)
    : h("p", { className: "muted", text: t("customer.noEarlier") });
  return h("div", { className: "customer" }, [
    h("h3", { text: t("customer.heading") }),
    name,
    customer.phone &&
      h("p", {
        className: "customer-phone",
        testid: "customer-phone",
        text: t("customer.phone", { phone: customer.phone }),
      }),
    customer.sms_opted_out &&
      h("p", { className: "sms-opted-out", testid: "sms-opted-out", text: t("customer.smsOptedOut") }),
    MANAGER_ROLES.includes(state.me.role) && vipToggle(customer),
    h("h4", { text: t("customer.earlier") }),
    history,
  ]);
}

/** Managers mark a customer VIP (served first from their next handoff on: docs/queue.md). */
function vipToggle(customer) {
  const button = h("button", {
    type: "button",
    testid: "vip-toggle",
    text: t(customer.vip ? "customer.unmarkVip" : "customer.markVip"),
  });
  button.addEventListener("click", () =>
    attempt(async () => {
      const path = `/api/manager/customers/${encodeURIComponent(customer.id)}`;
      const changed = await api(path, { method: "PUT", body: { vip: !customer.vip } });
      state.detail.customer.vip = Boolean(changed.vip);
      rerenderConversation();
    }),
  );
  return button;
}

function earlierTable(earlier) {
  const headings = ["date", "channel", "state", "resolution", "firstMessage", "agent"].map((key) =>
    t(`earlier.${key}`),
  );
  const rows = earlier.map((past) => {
    const open = h("button", { type: "button", className: "link-button", text: formatTime(past.created_at) });
    open.addEventListener("click", () => openConversation(past.id));
    return [
      open,
      channelName(past.channel),
      label("state", past.state),
      past.resolution_code ? label("resolution", past.resolution_code) : "—",
      past.first_message,
      personName(past.agent) || "—",
    ];
  });
  return table(headings, rows);
}

/* ---------- transcript, notes, vouchers ---------- */

/** Fills a list with one element per item, or with a muted "nothing here" line. */
function fillList(id, items, element, emptyKey, emptyTag = "li") {
  const entries = items.length
    ? items.map(element)
    : [h(emptyTag, { className: "empty muted", text: t(emptyKey) })];
  $(id).replaceChildren(...entries);
}

function renderTranscript() {
  const messages = state.detail.messages || [];
  const marked = usesChannels(messages);
  fillList("transcript", messages, (message) => messageElement(message, marked), "transcript.empty", "p");
}

/** True when the transcript has messages from more than one channel: only then is each marked. */
const usesChannels = (messages) =>
  new Set(messages.map((message) => message.channel).filter(Boolean)).size > 1;

function messageElement(message, showChannel) {
  const sender = SENDERS.includes(message.sender) ? message.sender : "system";
  const author = sender === "agent" && message.author ? personName(message.author) : t(`sender.${sender}`);
  const buttons = message.quick_replies || [];
  const element = h("div", { className: `message message-${sender}`, testid: "message" }, [
    h("div", { className: "message-head" }, [
      h("span", { className: "message-author", text: author }),
      showChannel &&
        message.channel &&
        h("span", { className: "channel-mark", testid: "message-channel", text: channelName(message.channel) }),
      h("span", { className: "message-time", text: formatTime(message.created_at) }),
    ]),
    h("div", { className: "message-text", text: message.text }),
    buttons.length > 0 &&
      h("div", {
        className: "message-buttons",
        text: t("transcript.buttons", { titles: buttons.map((button) => button.title).join(", ") }),
      }),
  ]);
  if (message.delivery) element.append(deliveryElement(message.delivery));
  element.classList.toggle("undelivered", isFailedDelivery(message.delivery));
  element.dataset.sender = sender;
  element.dataset.messageId = String(message.id);
  return element;
}

const isFailedDelivery = (delivery) => Boolean(delivery && DELIVERY_FAILURES.includes(delivery.status));

/** "Delivered · 2 segments", or for a text the customer did not get, why (red). */
function deliveryElement(delivery) {
  const failed = isFailedDelivery(delivery);
  const parts = [label("delivery", delivery.status)];
  if (typeof delivery.segments === "number") parts.push(segmentsText(delivery.segments));
  if (typeof delivery.parts === "number" && delivery.parts > 1) {
    parts.push(t("delivery.parts", { parts: delivery.parts }));
  }
  if (failed && delivery.error_code != null) parts.push(t("delivery.errorCode", { code: delivery.error_code }));
  if (failed && delivery.error) parts.push(delivery.error);
  return h("div", {
    className: failed ? "delivery delivery-failed" : "delivery",
    testid: "message-delivery",
    text: parts.join(" · "),
  });
}

const segmentsText = (count) => t(count === 1 ? "delivery.segment" : "delivery.segments", { count });

/** Rank of a status: a late, older status never replaces a newer one (the ends rank highest). */
function deliveryRank(delivery) {
  const index = DELIVERY_ORDER.indexOf(delivery && delivery.status);
  if (index >= 0) return index;
  return delivery && delivery.status ? DELIVERY_ORDER.length : -1;
}

/** A "delivery" event: updates that message's marker in place, or keeps it until the message comes. */
function applyDelivery(messageId, delivery) {
  if (!delivery) return;
  const message = state.detail.messages.find((known) => String(known.id) === String(messageId));
  if (!message) {
    const early = earlyDeliveries.get(String(messageId));
    if (deliveryRank(delivery) >= deliveryRank(early)) earlyDeliveries.set(String(messageId), delivery);
    return;
  }
  if (deliveryRank(delivery) < deliveryRank(message.delivery)) return;
  message.delivery = delivery;
  const shown = $("transcript").querySelector(`[data-message-id="${CSS.escape(String(messageId))}"]`);
  shown?.replaceWith(messageElement(message, usesChannels(state.detail.messages)));
}

/** A live or just-sent message; each appears once (the socket echoes what this page sent). */
function addMessage(message) {
  const messages = state.detail.messages;
  if (messages.some((known) => known.id === message.id)) {
    applyDelivery(message.id, message.delivery);
    return;
  }
  const early = earlyDeliveries.get(String(message.id));
  earlyDeliveries.delete(String(message.id));
  if (early && deliveryRank(early) >= deliveryRank(message.delivery)) message.delivery = early;
  const scroller = $("conversation-scroll");
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const channelsBefore = usesChannels(messages);
  messages.push(message);
  if (usesChannels(messages) !== channelsBefore) {
    renderTranscript(); // a second channel: every message gets its marker
  } else {
    $("transcript").querySelector(".empty")?.remove();
    $("transcript").append(messageElement(message, channelsBefore));
  }
  if (atBottom) scroller.scrollTop = scroller.scrollHeight;
  if (message.sender === "customer") showCustomerTyping(false);
}

let customerTypingTimer = null;

function showCustomerTyping(typing) {
  clearTimeout(customerTypingTimer);
  $("customer-typing").hidden = !typing;
  if (typing) customerTypingTimer = setTimeout(() => showCustomerTyping(false), CUSTOMER_TYPING_TIMEOUT_MS);
}

function renderNotes() {
  fillList("notes-list", state.detail.notes || [], noteElement, "notes.empty");
}

function noteElement(note) {
  return h("li", { className: "note" }, [
    h("div", { className: "message-head" }, [
      h("span", { className: "message-author", text: personName(note.author) }),
      h("span", { className: "message-time", text: formatTime(note.created_at) }),
    ]),
    h("div", { className: "message-text", text: note.text }),
  ]);
}

function addNote(note) {
  const notes = state.detail.notes;
  if (notes.some((known) => known.id === note.id)) return;
  notes.push(note);
  renderNotes();
}

function renderVouchers() {
  const voucherElement = (voucher) =>
    h("li", {}, [
      voucherLine(voucher),
      h("span", { className: "message-time", text: formatTime(voucher.created_at) }),
    ]);
  fillList("vouchers-list", state.detail.vouchers || [], voucherElement, "vouchers.empty");
}

const voucherLine = (voucher) =>
  h("span", {
    text: t("vouchers.line", {
      amount: voucher.amount,
      currency: voucher.currency,
      type: voucher.type,
      code: voucher.code,
      agent: personName(voucher.agent),
    }),
  });

/* ---------- actions ---------- */

function conversationAction(action, body = {}) {
  const id = state.detail.conversation.id;
  return attempt(async () => {
    const conversation = await api(`${conversationPath(id)}/${action}`, { method: "POST", body });
    if (state.detail && state.detail.conversation.id === id) applyConversation(conversation);
  });
}

function openTransferForm() {
  fillTransferAgents();
  $("transfer-form").hidden = false;
  $("transfer-toggle").setAttribute("aria-expanded", "true");
  $("transfer-agent").focus();
}

function closeTransferForm() {
  $("transfer-form").hidden = true;
  $("transfer-toggle").setAttribute("aria-expanded", "false");
}

function fillTransferAgents() {
  const select = $("transfer-agent");
  const chosen = select.value;
  const others = state.queue.agents.filter((agent) => !state.me || String(agent.id) !== String(state.me.id));
  const options = others.map((agent) => {
    const option = h("option", {
      text: t("transfer.agentOption", {
        name: agent.display_name,
        presence: label("presence", agent.presence),
        load: agent.load,
        capacity: agent.capacity,
      }),
    });
    option.value = String(agent.id);
    return option;
  });
  select.replaceChildren(h("option", { value: "", text: t("transfer.noAgent") }), ...options);
  select.value = others.some((agent) => String(agent.id) === chosen) ? chosen : "";
}

async function submitTransfer(event) {
  event.preventDefault();
  const agent = state.queue.agents.find((each) => String(each.id) === $("transfer-agent").value);
  const team = $("transfer-team").value.trim();
  const note = $("transfer-note").value.trim();
  if (!agent && !team) {
    showError(t("transfer.needTarget"));
    return;
  }
  if (!note) {
    showError(t("transfer.needNote"));
    return;
  }
  const body = agent ? { agent_id: agent.id, note } : { team, note };
  if (await conversationAction("transfer", body)) {
    $("transfer-form").reset();
    closeTransferForm();
  }
}

/* ---------- the reply box ---------- */

async function sendReply() {
  const box = $("reply-text");
  const text = box.value.trim();
  if (!text || box.disabled || state.busy) return;
  replyTyping.stop();
  const id = state.detail.conversation.id;
  await attempt(async () => {
    const body = { text, client_message_id: newMessageId() };
    const message = await api(`${conversationPath(id)}/messages`, { method: "POST", body });
    clearReply(id, text);
    if (state.detail && state.detail.conversation.id === id) addMessage(message);
  });
}

async function sendNote() {
  const box = $("reply-text");
  const text = box.value.trim();
  if (!text || state.busy) return;
  const id = state.detail.conversation.id;
  await attempt(async () => {
    const note = await api(`${conversationPath(id)}/notes`, { method: "POST", body: { text } });
    clearReply(id, text);
    if (state.detail && state.detail.conversation.id === id) addNote(note);
  });
}

/** Empties the reply box after `text` went out, unless the agent has written more meanwhile. */
function clearReply(id, text) {
  drafts.delete(id);
  const box = $("reply-text");
  if (state.detail && state.detail.conversation.id === id && box.value.trim() === text) box.value = "";
  box.focus();
}

function onReplyKey(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendReply();
  }
}

/** Puts `text` at the cursor of the reply box. */
function insertIntoReply(text) {
  const box = $("reply-text");
  box.setRangeText(text, box.selectionStart, box.selectionEnd, "end");
  box.focus();
}

/* ---------- canned responses, knowledge base, vouchers ---------- */

async function loadCanned(id) {
  renderCannedOptions();
  try {
    const canned = await api(`/api/agent/canned?conversation_id=${encodeURIComponent(id)}`);
    if (state.detail && state.detail.conversation.id === id) {
      state.canned = canned;
      renderCannedOptions();
    }
  } catch (error) {
    report(error);
  }
}

function renderCannedOptions() {
  const options = state.canned.map((canned, index) => {
    const option = h("option", { text: `${canned.title} (${canned.language})` });
    option.value = String(index);
    return option;
  });
  $("canned-select").replaceChildren(h("option", { value: "", text: t("canned.choose") }), ...options);
}

function insertCanned() {
  const select = $("canned-select");
  const canned = state.canned[Number(select.value)];
  if (select.value !== "" && canned) insertIntoReply(canned.text);
  select.value = "";
}

async function searchKnowledge(event) {
  event.preventDefault();
  const query = $("kb-search").value.trim();
  if (!query) return;
  await attempt(async () => {
    const result = await api(`/api/kb/search?q=${encodeURIComponent(query)}`);
    state.kbHits = result.hits || [];
    renderKbHits();
  });
}

function renderKbHits() {
  if (!state.kbHits) {
    $("kb-results").replaceChildren();
    return;
  }
  const hitElement = (hit) => {
    const insert = h("button", { type: "button", text: t("kb.insert") });
    insert.addEventListener("click", () => insertArticle(hit.id));
    return h("li", { className: "kb-hit" }, [
      h("span", { className: "kb-question", text: hit.question }),
      h("span", { className: "score", text: percent(hit.score) }),
      insert,
    ]);
  };
  fillList("kb-results", state.kbHits, hitElement, "kb.nothing");
}

function insertArticle(id) {
  return attempt(async () => {
    const article = await api(`/api/kb/articles/${encodeURIComponent(id)}`);
    insertIntoReply(article.answer);
  });
}

async function loadVoucherTypes() {
  try {
    state.voucherTypes = await api("/api/agent/voucher-types");
  } catch (error) {
    report(error);
  }
  renderVoucherTypes();
}

function renderVoucherTypes() {
  const options = state.voucherTypes.map((voucherType, index) => {
    const option = h("option", {
      text: t("voucher.option", {
        type: voucherType.type,
        limit: voucherType.limit,
        currency: voucherType.currency,
      }),
    });
    option.value = String(index);
    return option;
  });
  $("voucher-type").replaceChildren(...options);
}

async function grantVoucher(event) {
  event.preventDefault();
  const voucherType = state.voucherTypes[Number($("voucher-type").value)];
  const amount = Number($("voucher-amount").value);
  if (!voucherType || !(amount > 0)) {
    showError(t("voucher.invalid"));
    return;
  }
  const id = state.detail.conversation.id;
  await attempt(async () => {
    const voucher = await api(`${conversationPath(id)}/vouchers`, {
      method: "POST",
      body: { type: voucherType.type, amount },
    });
    $("voucher-amount").value = "";
    if (state.detail && state.detail.conversation.id === id) {
      state.detail.vouchers.push(voucher);
      renderVouchers();
    }
  });
}

/* ---------- start ---------- */

function rerenderForLanguage() {
  renderAgent();
  renderQueue();
  setLive(state.live);
  renderCannedOptions();
  renderVoucherTypes();
  renderKbHits();
  fillTransferAgents();
  if (state.detail) rerenderConversation();
  else if (!state.openId) $("conversation-empty").textContent = t("conversation.empty");
}

function bindControls() {
  $("login-form").addEventListener("submit", submitLogin);
  $("logout").addEventListener("click", logout);
  $("presence").addEventListener("change", changePresence);
  $("error-dismiss").addEventListener("click", clearError);
  $("claim").addEventListener("click", () => conversationAction("claim"));
  $("release").addEventListener("click", () => conversationAction("release"));
  $("resolve").addEventListener("click", () =>
    conversationAction("resolve", { code: $("resolve-code").value }),
  );
  $("transfer-toggle").addEventListener("click", () =>
    $("transfer-form").hidden ? openTransferForm() : closeTransferForm(),
  );
  $("transfer-cancel").addEventListener("click", closeTransferForm);
  $("transfer-form").addEventListener("submit", submitTransfer);
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply();
  });
  $("reply-text").addEventListener("keydown", onReplyKey);
  $("reply-text").addEventListener("input", () => replyTyping.keystroke());
  $("note-send").addEventListener("click", sendNote);
  $("canned-select").addEventListener("change", insertCanned);
  $("kb-form").addEventListener("submit", searchKnowledge);
  $("voucher-form").addEventListener("submit", grantVoucher);
}

I18n.apply();
I18n.bindSwitch($("lang-switch"));
I18n.onChange(rerenderForLanguage);
bindControls();
setInterval(tick, 1000);
checkSession();
