/* Helpdesk website chat widget: one file, served as is, no build step (docs/widget.md).

   <script src="https://HOST/widget.js" data-lang="ru|en" data-color="#2563eb"
           data-greeting="..." data-position="right|left" async></script>

   The API is the host this script was loaded from. Everything lives in a shadow root, so the
   page's CSS cannot reach it and its CSS cannot reach the page. Customer, agent and server text
   is only ever inserted with textContent, never as HTML. */
(() => {
  "use strict";
  if (window.HelpdeskWidget) return; // the tag twice on a page: one widget

  const LABELS = {
    ru: {
      launcher: "Открыть чат поддержки", launcherUnread: "Открыть чат поддержки (новых сообщений: {n})",
      close: "Свернуть чат", dialog: "Чат поддержки {company}",
      assistant: "Виртуальный помощник · отвечает сразу", waiting: "Ищем свободного сотрудника",
      withAgent: "{agent} · сотрудник поддержки", resolvedState: "Разговор завершён",
      log: "Переписка", input: "Сообщение", placeholder: "Напишите вопрос…", send: "Отправить",
      you: "Вы", sending: "Отправляется…", willSend: "Отправим, когда появится связь",
      notSent: "Не отправлено", delivered: "Доставлено",
      offline: "Нет связи. Сообщения отправятся сами, когда она появится.",
      reconnecting: "Восстанавливаем связь…",
      botTyping: "Помощник печатает…", agentTyping: "{agent} печатает…", staffTyping: "Сотрудник печатает…",
      queue: "Вы {position}-й в очереди", queueWait: "ожидание {wait}",
      noAgents: "сейчас никого нет на месте: ответим, как только кто-то появится",
      leave: "Выйти из очереди", left: "Вы вышли из очереди. Если понадобится помощь — просто напишите.",
      underMinute: "меньше минуты", aboutMinutes: "около {n} мин",
      suggestions: "Возможно, ответ уже есть", suggestHint: "Не то? Отправьте вопрос — ответим в чате.",
      loading: "Загружаем…", articleFailed: "Не удалось загрузить ответ.",
      quickReplies: "Варианты ответа", newConversation: "Новый разговор",
      csatTitle: "Как мы вам помогли?",
      csat: ["Очень плохо", "Плохо", "Нормально", "Хорошо", "Отлично"],
      cesTitle: "Насколько легко было получить помощь?", cesLow: "Очень трудно", cesHigh: "Очень легко",
      comment: "Комментарий (необязательно)", rate: "Отправить оценку",
      rateNeeded: "Выберите оценку от 1 до 5 звёзд.", rateFailed: "Не получилось отправить оценку. Попробуйте ещё раз.",
      thanks: "Спасибо за оценку! Она помогает нам работать лучше.",
      smsOffer: "Продолжить по SMS", smsHeading: "Продолжить по SMS",
      smsPhone: "Номер мобильного телефона", smsSendCode: "Прислать код",
      smsSent: "Мы отправили код на номер {phone}.", smsCode: "Код из SMS (6 цифр)", smsConfirm: "Подтвердить",
      smsResend: "Прислать новый код", smsCancel: "Отмена",
      smsLinked: "Дальше продолжим по SMS на номер {phone}; вся история остаётся в этом чате.",
      smsNeedPhone: "Введите номер телефона.", smsNeedCode: "Введите 6 цифр из SMS.",
      smsAttemptsLeft: "Осталось попыток: {n}.", smsRetryIn: "Повторите через {time}.",
      seconds: "{n} с", minutes: "{n} мин", smsFailed: "Не получилось. Попробуйте ещё раз.",
    },
    en: {
      launcher: "Open the support chat", launcherUnread: "Open the support chat ({n} new)",
      close: "Minimise the chat", dialog: "{company} support chat",
      assistant: "Virtual assistant · answers at once", waiting: "Finding someone for you",
      withAgent: "{agent} · support team", resolvedState: "Conversation resolved",
      log: "Conversation", input: "Message", placeholder: "Type your question…", send: "Send",
      you: "You", sending: "Sending…", willSend: "Will send when you're back online",
      notSent: "Not sent", delivered: "Delivered",
      offline: "You're offline. Messages will be sent when the connection is back.",
      reconnecting: "Reconnecting…",
      botTyping: "The assistant is typing…", agentTyping: "{agent} is typing…", staffTyping: "An agent is typing…",
      queue: "You are number {position} in the queue", queueWait: "expected wait {wait}",
      noAgents: "no one is available right now: we'll answer as soon as someone is back",
      leave: "Leave the queue", left: "You left the queue. If you need help, just write here.",
      underMinute: "under a minute", aboutMinutes: "about {n} min",
      suggestions: "These may answer your question", suggestHint: "Not it? Send your question and we'll answer in the chat.",
      loading: "Loading…", articleFailed: "The answer could not be loaded.",
      quickReplies: "Suggested replies", newConversation: "New conversation",
      csatTitle: "How did we do?",
      csat: ["Very bad", "Bad", "OK", "Good", "Excellent"],
      cesTitle: "How easy was it to get help?", cesLow: "Very hard", cesHigh: "Very easy",
      comment: "Comment (optional)", rate: "Send rating",
      rateNeeded: "Choose from 1 to 5 stars.", rateFailed: "The rating could not be sent. Please try again.",
      thanks: "Thank you for your rating! It helps us do better.",
      smsOffer: "Continue by SMS", smsHeading: "Continue by SMS",
      smsPhone: "Mobile phone number", smsSendCode: "Text me a code",
      smsSent: "We texted a code to {phone}.", smsCode: "Code from the SMS (6 digits)", smsConfirm: "Confirm",
      smsResend: "Send a new code", smsCancel: "Cancel",
      smsLinked: "From now on we continue by SMS at {phone}; this chat keeps the whole history.",
      smsNeedPhone: "Enter your phone number.", smsNeedCode: "Enter the 6 digits from the SMS.",
      smsAttemptsLeft: "Attempts left: {n}.", smsRetryIn: "Try again in {time}.",
      seconds: "{n} s", minutes: "{n} min", smsFailed: "That did not work. Please try again.",
    },
  };
  const DEFAULTS = {
    company: "Support", color: "#2563eb",
    greeting: { ru: "Здравствуйте! Чем можем помочь?", en: "Hello! How can we help?" },
    sms: { available: false },
  };
  const SUGGEST_DELAY_MS = 250; // after the last keystroke
  const SUGGEST_MIN_CHARS = 3;
  const SUGGEST_MIN_CONFIDENCE = 0.25; // the search's own threshold for offering a choice
  const SUGGEST_COUNT = 3;
  const TYPING_IDLE_MS = 3000;
  const TYPING_SHOWN_MAX_MS = 15000; // a "typing" that never ended
  const RETRY_MIN_MS = 1000;
  const RETRY_MAX_MS = 30000;
  const RECONNECTING_AFTER_MS = 2500; // a socket down this long is shown

  const script = document.currentScript
    || [...document.querySelectorAll("script[src]")].find((s) => /\/widget\.js(\?|#|$)/.test(s.src));
  if (!script) return;
  const BASE = new URL(".", script.src); // the API: wherever this script came from
  const tag = script.dataset;
  const lang = pickLanguage(tag.lang, document.documentElement.lang, navigator.language);
  const labels = LABELS[lang];
  const KEY = `helpdesk-widget:${BASE.origin}${BASE.pathname}`;

  function pickLanguage(...candidates) {
    for (const candidate of candidates) {
      const code = String(candidate || "").trim().toLowerCase().slice(0, 2);
      if (code in LABELS) return code;
    }
    return "en";
  }

  // labels[key] with {name} replaced from params.
  function fill(key, params = {}) {
    return labels[key].replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }

  /* Storage: localStorage (per API host) for the conversation and the outbox; memory where the
     browser refuses it (private modes, blocked storage). */
  const memory = new Map();
  const saved = {
    read(name, fallback) {
      try {
        const value = localStorage.getItem(`${KEY}:${name}`);
        return value === null ? fallback : JSON.parse(value);
      } catch {
        return memory.has(name) ? memory.get(name) : fallback;
      }
    },
    write(name, value) {
      memory.set(name, value);
      try {
        if (value === null) localStorage.removeItem(`${KEY}:${name}`);
        else localStorage.setItem(`${KEY}:${name}`, JSON.stringify(value));
      } catch {
        // kept in memory only
      }
    },
  };

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function validColor(value) {
    return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(String(value || "").trim()) ? value.trim() : null;
  }

  // Black or white text on the accent colour, whichever reads better (WCAG relative luminance).
  function textOn(color) {
    let hex = color.slice(1);
    if (hex.length === 3) hex = [...hex].map((c) => c + c).join("");
    const [r, g, b] = [0, 2, 4].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return (1.05) / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#111827";
  }

  /* ---------------------------------------------------------------- markup and styles -- */

  const STYLES = `
:host { all: initial !important; display: block !important; position: static !important; }
.hd {
  all: initial; display: block; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: #111827; font-weight: 400; font-style: normal; letter-spacing: normal;
  text-align: left; text-transform: none; text-shadow: none; word-spacing: normal; direction: ltr;
  --hd-accent: #2563eb; --hd-on-accent: #ffffff; --hd-gap: 24px;
  -webkit-font-smoothing: antialiased; -webkit-text-size-adjust: 100%;
}
.hd *, .hd *::before, .hd *::after { box-sizing: border-box; font: inherit; color: inherit; letter-spacing: inherit; margin: 0; padding: 0; }
[hidden] { display: none !important; }
button, textarea, input { border: 0; background: none; outline: none; -webkit-appearance: none; appearance: none; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid var(--hd-accent) !important; outline-offset: 2px; }
.sr { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
svg { display: block; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }

.launcher {
  position: fixed; bottom: var(--hd-gap); right: var(--hd-gap); z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; display: grid; place-items: center;
  background: var(--hd-accent); color: var(--hd-on-accent);
  box-shadow: 0 6px 20px rgba(17, 24, 39, .25), 0 2px 6px rgba(17, 24, 39, .15);
  transition: transform .15s ease;
}
.launcher:hover { transform: scale(1.05); }
.launcher svg { width: 28px; height: 28px; }
.left .launcher { right: auto; left: var(--hd-gap); }
.badge {
  position: absolute; top: -2px; right: -2px; min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px;
  background: #dc2626; color: #fff; font-size: 12px; font-weight: 700; line-height: 22px; text-align: center;
  box-shadow: 0 0 0 2px #fff;
}

.panel {
  position: fixed; bottom: calc(var(--hd-gap) + 72px); right: var(--hd-gap); z-index: 2147483001;
  width: 380px; height: min(640px, calc(100vh - 120px)); height: min(640px, calc(100dvh - 120px));
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 16px;
  box-shadow: 0 12px 48px rgba(17, 24, 39, .22), 0 2px 8px rgba(17, 24, 39, .12);
  animation: hd-in .18s ease-out;
}
.left .panel { right: auto; left: var(--hd-gap); }
@keyframes hd-in { from { opacity: 0; transform: translateY(12px) scale(.98); } to { opacity: 1; transform: none; } }
@media (prefers-reduced-motion: reduce) { .panel { animation: none; } .launcher { transition: none; } }

.head {
  display: flex; align-items: center; gap: 12px; padding: 14px 12px 14px 16px; flex: none;
  background: var(--hd-accent); color: var(--hd-on-accent);
}
.avatar {
  flex: none; width: 40px; height: 40px; border-radius: 50%; display: grid; place-items: center;
  background: rgba(255, 255, 255, .22); font-weight: 700; font-size: 17px;
}
.who { flex: 1; min-width: 0; }
.title { display: block; font-size: 16px; font-weight: 700; line-height: 1.25; }
.subtitle { display: block; font-size: 13px; opacity: .9; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.subtitle::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: #4ade80; vertical-align: 1px; }
.subtitle.off::before { background: #fbbf24; }
.close { flex: none; width: 44px; height: 44px; border-radius: 10px; display: grid; place-items: center; color: inherit; }
.close:hover { background: rgba(255, 255, 255, .15); }
.close svg { width: 22px; height: 22px; }

.banner { flex: none; padding: 8px 16px; font-size: 13px; line-height: 1.35; border-bottom: 1px solid #e5e7eb; }
.banner.offline { background: #fef3c7; color: #78350f; }
.banner.queue { background: #eff6ff; color: #1e3a8a; display: flex; align-items: center; gap: 8px; padding-top: 0; padding-bottom: 0; }
.queue-text { flex: 1; padding: 8px 0; }
.banner .link { flex: none; font-size: 13px; color: #1e3a8a; }
.banner.queue .pos { font-weight: 700; }
.banner.queue .pos::after { content: " · "; font-weight: 400; }

.log {
  flex: 1; overflow-y: auto; overscroll-behavior: contain; -webkit-overflow-scrolling: touch;
  padding: 16px 14px 12px; background: #f8fafc; display: flex; flex-direction: column;
}
.content, .messages { display: flex; flex-direction: column; gap: 10px; }
.content { margin-top: auto; }
.row { display: flex; flex-direction: column; max-width: 85%; align-self: flex-start; }
.row.customer { align-self: flex-end; align-items: flex-end; }
.row.system { align-self: center; max-width: 92%; align-items: center; }
.author { font-size: 12px; font-weight: 700; color: #374151; margin: 0 0 3px 12px; }
.bubble {
  padding: 9px 13px; border-radius: 16px 16px 16px 4px; background: #fff; color: #111827;
  border: 1px solid #e5e7eb; white-space: pre-wrap; overflow-wrap: anywhere;
}
.bubble strong { font-weight: 700; }
.agent .bubble { background: #fff; border-color: #d1d5db; }
.customer .bubble { background: var(--hd-accent); color: var(--hd-on-accent); border-color: transparent; border-radius: 16px 16px 4px 16px; }
.system .bubble { background: #eef2f7; border: 0; border-radius: 12px; font-size: 13px; color: #374151; text-align: center; }
.system.notice .bubble { background: #fff7ed; color: #7c2d12; border: 1px solid #fed7aa; text-align: left; }
.pending .bubble { opacity: .75; }
.failed .bubble { background: #fee2e2; color: #7f1d1d; }
.meta { font-size: 11px; color: #6b7280; margin: 3px 6px 0; }
.divider { align-self: center; font-size: 12px; color: #6b7280; padding: 4px 10px; border-radius: 10px; background: #eef2f7; }

.replies { display: flex; flex-wrap: wrap; gap: 8px; justify-content: flex-end; }
.chip {
  min-height: 44px; padding: 8px 16px; border-radius: 22px; border: 1.5px solid var(--hd-accent);
  background: #fff; color: var(--hd-accent); font-weight: 600; font-size: 14px; line-height: 1.2; text-align: center;
}
.chip:hover { background: var(--hd-accent); color: var(--hd-on-accent); }

.typing { display: flex; align-items: center; gap: 8px; font-size: 13px; color: #4b5563; padding: 2px 4px; }
.dots { display: inline-flex; gap: 4px; padding: 10px 12px; border-radius: 14px; background: #fff; border: 1px solid #e5e7eb; }
.dots i { width: 6px; height: 6px; border-radius: 50%; background: #9ca3af; animation: hd-dot 1.2s infinite ease-in-out; }
.dots i:nth-child(2) { animation-delay: .15s; } .dots i:nth-child(3) { animation-delay: .3s; }
@keyframes hd-dot { 0%, 80%, 100% { opacity: .3; transform: none; } 40% { opacity: 1; transform: translateY(-3px); } }

.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 14px; padding: 14px; display: flex; flex-direction: column; gap: 10px; }
.card h3 { font-size: 15px; font-weight: 700; }
.suggest .hint { font-size: 13px; color: #6b7280; }
.article { border: 1px solid #e5e7eb; border-radius: 10px; overflow: hidden; }
.article > button {
  width: 100%; min-height: 44px; padding: 10px 12px; display: flex; gap: 10px; align-items: center;
  text-align: left; font-weight: 600; color: #111827; background: #fff;
}
.article > button::after { content: "+"; margin-left: auto; font-size: 20px; line-height: 1; color: var(--hd-accent); }
.article > button[aria-expanded="true"]::after { content: "−"; }
.article > button:hover { background: #f3f4f6; }
.answer { padding: 0 12px 12px; white-space: pre-wrap; font-size: 14px; color: #374151; overflow-wrap: anywhere; }

.stars, .scale { display: flex; gap: 4px; flex-wrap: wrap; }
.stars label, .scale label { position: relative; min-width: 44px; min-height: 44px; display: grid; place-items: center; border-radius: 10px; cursor: pointer; }
.stars input, .scale input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.stars label { font-size: 30px; line-height: 1; color: #d1d5db; }
.stars label.on { color: #f59e0b; }
.scale label { flex: 1; border: 1.5px solid #d1d5db; font-weight: 700; }
.scale label.on { background: var(--hd-accent); color: var(--hd-on-accent); border-color: var(--hd-accent); }
.stars label:has(:focus-visible), .scale label:has(:focus-visible) { outline: 3px solid var(--hd-accent); outline-offset: 1px; }
.legend { font-size: 14px; font-weight: 700; }
.ends { display: flex; justify-content: space-between; font-size: 12px; color: #6b7280; }
.field { display: flex; flex-direction: column; gap: 4px; font-size: 13px; font-weight: 600; color: #374151; }
.field textarea, .field input {
  font-size: 16px; font-weight: 400; color: #111827; padding: 10px 12px; border: 1px solid #d1d5db; border-radius: 10px; background: #fff; min-height: 44px;
}
.feedback textarea {
  font-size: 16px; padding: 10px 12px; border: 1px solid #d1d5db; border-radius: 10px; background: #fff;
  min-height: 64px; resize: vertical; width: 100%;
}
.composer textarea:focus-visible { outline-width: 2px !important; outline-offset: 0; }
.primary {
  min-height: 44px; padding: 10px 16px; border-radius: 10px; font-weight: 700;
  background: var(--hd-accent); color: var(--hd-on-accent);
}
.primary:disabled { opacity: .6; cursor: default; }
.link { min-height: 44px; padding: 0 4px; color: var(--hd-accent); font-size: 14px; font-weight: 600; text-decoration: underline; }
.error { padding: 8px 10px; border-radius: 8px; background: #fee2e2; color: #991b1b; font-size: 13px; }
.thanks { align-items: center; text-align: center; color: #065f46; background: #ecfdf5; border-color: #a7f3d0; }

.sms-offer { flex: none; padding: 0 14px; background: #f8fafc; }
.sms { flex: none; border-top: 1px solid #e5e7eb; padding: 12px 14px; gap: 8px; display: flex; flex-direction: column; background: #fff; }
.sms .inline { display: flex; gap: 8px; }
.sms .inline input { flex: 1; min-width: 0; }
.sms-actions { display: flex; gap: 12px; flex-wrap: wrap; }
.sms p { font-size: 13px; }
.linked { flex: none; padding: 8px 16px; font-size: 13px; background: #ecfdf5; color: #065f46; border-top: 1px solid #a7f3d0; }

.composer { flex: none; display: flex; align-items: flex-end; gap: 8px; padding: 10px 10px 10px 14px; border-top: 1px solid #e5e7eb; background: #fff; }
.composer textarea {
  flex: 1; min-width: 0; min-height: 44px; max-height: 132px; resize: none; overflow-y: auto;
  padding: 11px 12px; border-radius: 12px; background: #f3f4f6; font-size: 16px; line-height: 22px; color: #111827;
}
.composer textarea::placeholder { color: #6b7280; opacity: 1; }
.send { flex: none; width: 44px; height: 44px; border-radius: 12px; display: grid; place-items: center; background: var(--hd-accent); color: var(--hd-on-accent); }
.send:disabled { opacity: .45; cursor: default; }
.send svg { width: 20px; height: 20px; }

@media (max-width: 600px) {
  .panel {
    top: var(--hd-vv-top, 0px); left: 0; right: 0; bottom: auto; width: 100%;
    height: 100vh; height: 100dvh; height: var(--hd-vv-height, 100dvh);
    border-radius: 0; box-shadow: none;
  }
  .left .panel { left: 0; }
  .open .launcher { display: none; }
  .launcher { --hd-gap: 16px; }
  .row { max-width: 90%; }
}`;

  const ICONS = {
    chat: "M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12Z",
    close: "M6 6l12 12M18 6 6 18",
    minimise: "M6 9l6 6 6-6",
    send: "M4 12 20 4l-4 16-4-7-8-1Z",
  };

  function icon(name) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  // An element with attributes (data-* and aria-* included) and children (nodes or text).
  function el(name, attributes = {}, ...children) {
    const element = document.createElement(name);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      if (key === "text") element.textContent = value;
      else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
      else element.setAttribute(key, value === true ? "" : String(value));
    }
    element.append(...children.filter((child) => child !== null && child !== undefined));
    return element;
  }

  // Bot and system text with **bold** shown bold; everything else stays text.
  function formatted(text) {
    const fragment = document.createDocumentFragment();
    String(text).split(/\*\*(.+?)\*\*/s).forEach((part, i) => {
      if (part) fragment.append(i % 2 ? el("strong", { text: part }) : document.createTextNode(part));
    });
    return fragment;
  }

  const host = document.createElement("helpdesk-widget");
  const shadow = host.attachShadow({ mode: "open" });
  const ui = {};
  const root = el("div", { class: "hd", lang, "data-testid": "widget" });
  try { // a constructed sheet: not an inline <style>, so a strict style-src CSP does not block it
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLES);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(el("style", { text: STYLES }));
  }
  shadow.append(root);

  ui.badge = el("span", { class: "badge", "data-testid": "unread", "aria-hidden": "true", hidden: true });
  ui.launcher = el("button", {
    type: "button", class: "launcher", "data-testid": "launcher", "aria-label": labels.launcher,
    "aria-expanded": "false", "aria-controls": "hd-panel", onclick: () => (isOpen() ? close() : open()),
  }, icon("chat"), ui.badge);

  ui.avatar = el("span", { class: "avatar", "aria-hidden": "true" });
  ui.title = el("h2", { class: "title", id: "hd-title", "data-testid": "title" });
  ui.subtitle = el("span", { class: "subtitle", "data-testid": "subtitle" });
  ui.close = el("button", {
    type: "button", class: "close", "data-testid": "close", "aria-label": labels.close, onclick: () => close(),
  }, icon("minimise"));
  ui.offline = el("p", { class: "banner offline", "data-testid": "offline", role: "status", hidden: true });
  ui.queue = el("div", { class: "banner queue", hidden: true },
    el("p", { class: "queue-text", "data-testid": "queue-status", role: "status" }),
    el("button", { type: "button", class: "link", "data-testid": "leave", text: labels.leave, onclick: () => leaveQueue() }));

  ui.greeting = el("div", { class: "row bot greeting", "data-testid": "greeting" }, el("div", { class: "bubble" }));
  ui.messages = el("div", { class: "messages", role: "log", "aria-live": "polite", "aria-label": labels.log });
  ui.replies = el("div", { class: "replies", role: "group", "aria-label": labels.quickReplies, "data-testid": "quick-replies", hidden: true });
  ui.typing = el("div", { class: "typing", "data-testid": "typing", hidden: true },
    el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")),
    el("span", { class: "typing-text", role: "status" }));
  ui.suggest = el("section", { class: "card suggest", "data-testid": "suggestions", "aria-labelledby": "hd-suggest-title", hidden: true });
  ui.feedback = el("div", { class: "feedback-slot" });
  ui.content = el("div", { class: "content" }, ui.greeting, ui.messages, ui.typing, ui.replies, ui.suggest, ui.feedback);
  ui.log = el("div", { class: "log", "data-testid": "log", role: "region", tabindex: "0", "aria-label": labels.log }, ui.content);

  ui.smsOffer = el("div", { class: "sms-offer", hidden: true },
    el("button", { type: "button", class: "link", "data-testid": "sms-open", text: labels.smsOffer, onclick: () => openSms() }));
  ui.smsLinked = el("p", { class: "linked", "data-testid": "sms-linked", role: "status", hidden: true });
  ui.sms = buildSmsForm();

  ui.input = el("textarea", {
    rows: "1", maxlength: "4000", "data-testid": "input", "aria-label": labels.input,
    placeholder: labels.placeholder, enterkeyhint: "send", autocomplete: "off",
  });
  ui.send = el("button", { type: "submit", class: "send", "data-testid": "send", "aria-label": labels.send, disabled: true }, icon("send"));
  ui.composer = el("form", { class: "composer", "data-testid": "composer" }, ui.input, ui.send);

  ui.panel = el("section", {
    class: "panel", id: "hd-panel", role: "dialog", "aria-modal": "false", "data-testid": "panel", hidden: true,
  },
  el("header", { class: "head" }, ui.avatar, el("div", { class: "who" }, ui.title, ui.subtitle), ui.close),
  ui.offline, ui.queue, ui.log, ui.smsOffer, ui.sms, ui.smsLinked, ui.composer);
  root.append(ui.panel, ui.launcher);

  function buildSmsForm() {
    const section = el("section", { class: "sms", "data-testid": "sms", "aria-labelledby": "hd-sms-heading", hidden: true });
    ui.smsPhone = el("input", { id: "hd-sms-phone", "data-testid": "sms-phone", type: "tel", autocomplete: "tel", maxlength: "32" });
    ui.smsPhoneForm = el("form", { class: "field", onsubmit: (event) => { event.preventDefault(); requestCode(ui.smsPhone.value.trim()); } },
      el("label", { for: "hd-sms-phone", text: labels.smsPhone }),
      el("div", { class: "inline" }, ui.smsPhone, el("button", { class: "primary", text: labels.smsSendCode })));
    ui.smsCode = el("input", { id: "hd-sms-code", "data-testid": "sms-code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "12" });
    ui.smsSent = el("p", { "data-testid": "sms-sent", role: "status" });
    ui.smsCodeForm = el("form", { class: "field", hidden: true, onsubmit: (event) => { event.preventDefault(); verifyCode(); } },
      ui.smsSent, el("label", { for: "hd-sms-code", text: labels.smsCode }),
      el("div", { class: "inline" }, ui.smsCode, el("button", { class: "primary", text: labels.smsConfirm })));
    ui.smsError = el("p", { class: "error", "data-testid": "sms-error", role: "alert", hidden: true });
    ui.smsResend = el("button", { type: "button", class: "link", "data-testid": "sms-resend", text: labels.smsResend, hidden: true, onclick: () => requestCode(smsPhone) });
    section.append(
      el("strong", { id: "hd-sms-heading", text: labels.smsHeading }), ui.smsPhoneForm, ui.smsCodeForm, ui.smsError,
      el("div", { class: "sms-actions" }, ui.smsResend,
        el("button", { type: "button", class: "link", "data-testid": "sms-cancel", text: labels.smsCancel, onclick: () => closeSms() })),
    );
    return section;
  }

  /* ---------------------------------------------------------------- settings -- */

  let config = { ...DEFAULTS };

  function applyConfig(server) {
    config = { ...DEFAULTS, ...server };
    const color = validColor(tag.color) || validColor(config.color) || DEFAULTS.color;
    root.style.setProperty("--hd-accent", color);
    root.style.setProperty("--hd-on-accent", textOn(color));
    root.classList.toggle("left", tag.position === "left");
    const greeting = tag.greeting || (config.greeting || {})[lang] || DEFAULTS.greeting[lang];
    ui.greeting.firstChild.textContent = greeting;
    ui.title.textContent = config.company;
    ui.panel.setAttribute("aria-label", fill("dialog", { company: config.company }));
    if (!conversation.sms) conversation.sms = { available: Boolean(config.sms && config.sms.available), phone: null };
    showHeader();
  }

  /* ---------------------------------------------------------------- HTTP -- */

  async function request(path, { method = "GET", body, token, signal } = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(new URL(path, BASE), {
      method, headers, signal, credentials: "omit", mode: "cors",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await failure(response);
    return response.json();
  }

  // The error for a failed answer: its status, the JSON body ({"detail", ...}) and Retry-After in seconds.
  async function failure(response) {
    const error = new Error(`${response.status}`);
    error.status = response.status;
    error.body = (await response.json().catch(() => null)) || {};
    error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
    return error;
  }

  function customerApi(path, options = {}) {
    return request(`api/conversations/${session.id}${path}`, { ...options, token: session.token });
  }

  /* ---------------------------------------------------------------- the conversation -- */

  let session = saved.read("session", null); // {id, token}
  let outbox = saved.read("outbox", []); // [{cid, text, payload, after}], oldest first
  let conversation = { state: null, agent: null, sms: null, feedback: undefined, queue: null };
  let seen = new Set(); // the seqs shown, of the current conversation
  let watermark = 0; // every seq up to this one is shown: the history is read from here
  let newestSeq = 0;
  let unread = 0;
  let loaded = false; // the first history read is done (its messages are not "new")

  function forgetSession() {
    session = null;
    saved.write("session", null);
    closeSocket();
    resetConversation();
  }

  // A new conversation from here on (the old one's messages stay on screen above a divider).
  function resetConversation() {
    seen = new Set();
    watermark = 0;
    newestSeq = 0;
    conversation = { state: null, agent: null, sms: conversation.sms, feedback: undefined, queue: null };
    if (ui.messages.querySelector(".row[data-seq]")) {
      insertConfirmed(el("p", { class: "divider", text: labels.newConversation }), null);
    }
    for (const row of ownRows()) row.dataset.after = "0";
    showReplies([]);
    showHeader();
    showQueue(null);
    showFeedback();
  }

  async function startConversation() {
    const other = saved.read("session", null); // another tab may have started one meanwhile
    if (other) {
      session = other;
    } else {
      const created = await request("api/conversations", { method: "POST", body: { channel: "web", locale: lang } });
      session = { id: created.conversation_id, token: created.customer_token };
      saved.write("session", session);
    }
    hideSuggestions();
    connect();
  }

  function switchTo(next) {
    session = { id: next.conversation_id, token: next.customer_token };
    saved.write("session", session);
    resetConversation();
    closeSocket();
    connect();
  }

  /* Messages. Confirmed ones (with a seq) are kept in seq order; the customer's own messages not
     yet acknowledged stay at the end. A customer message from the server is matched to the
     bubble already shown for it (its client_message_id when the server gives it, else the
     oldest unmatched bubble with the same text sent after what was seen then), so nothing is
     shown twice and nothing is lost. */

  function ownRows() {
    return [...ui.messages.querySelectorAll(".row.own:not([data-seq])")];
  }

  function insertConfirmed(node, seq) {
    let before = ui.messages.querySelector(".row.pending");
    let previous = before ? before.previousElementSibling : ui.messages.lastElementChild;
    while (seq !== null && previous && previous.dataset.seq && Number(previous.dataset.seq) > seq) {
      before = previous;
      previous = previous.previousElementSibling;
    }
    ui.messages.insertBefore(node, before);
  }

  function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 120;
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
    pinned = true;
  }

  // Reading the latest: stays at the end when messages come, bars appear or the keyboard opens.
  let pinned = true;
  ui.log.addEventListener("scroll", () => {
    pinned = nearBottom();
  }, { passive: true });
  if (window.ResizeObserver) {
    const keep = new ResizeObserver(() => {
      if (pinned) ui.log.scrollTop = ui.log.scrollHeight;
    });
    keep.observe(ui.log);
    keep.observe(ui.content);
  }

  function timeOf(iso) {
    const date = iso ? new Date(iso) : new Date();
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }

  function messageRow(message) {
    const sender = ["customer", "agent", "bot", "system"].includes(message.sender) ? message.sender : "system";
    const row = el("div", { class: `row ${sender}`, "data-testid": "message", "data-sender": sender });
    if (sender === "agent" && message.author) row.append(el("span", { class: "author", "data-testid": "author", text: message.author }));
    if (sender === "customer") row.append(el("span", { class: "sr", text: `${labels.you}: ` }));
    const bubble = el("div", { class: "bubble" });
    if (sender === "bot" || sender === "system") bubble.append(formatted(message.text));
    else bubble.textContent = message.text;
    if (sender === "system" && (message.quick_replies || []).some((reply) => reply.payload === "/sms" || reply.payload === "/reply_later")) {
      row.classList.add("notice"); // no one can answer now: said clearly
    }
    row.append(bubble, el("span", { class: "meta", text: timeOf(message.created_at) }));
    return row;
  }

  function showMessage(message, live = true) {
    if (typeof message.seq !== "number" || seen.has(message.seq)) return;
    seen.add(message.seq);
    while (seen.has(watermark + 1)) watermark += 1;
    const stick = nearBottom();
    const own = message.sender === "customer" && message.channel === "web" ? ownBubbleFor(message) : null;
    if (own) {
      own.dataset.seq = message.seq;
      own.classList.remove("pending", "failed");
      own.querySelector(".meta").textContent = timeOf(message.created_at);
      own.remove();
      insertConfirmed(own, message.seq);
    } else {
      const row = messageRow(message);
      row.dataset.seq = message.seq;
      insertConfirmed(row, message.seq);
    }
    if (message.sender === "agent" || message.sender === "bot") showTyping(message.sender, false);
    if (message.seq > newestSeq) {
      newestSeq = message.seq;
      showReplies(ui.messages.querySelector(".row.pending") ? [] : message.quick_replies || []);
    }
    if (live && loaded && message.sender !== "customer" && !isOpen()) {
      unread += 1;
      showUnread();
    }
    if (stick || own) scrollToEnd();
  }

  function ownBubbleFor(message) {
    const rows = ownRows();
    if (message.client_message_id) return rows.find((row) => row.dataset.cid === message.client_message_id) || null;
    return rows.find((row) => row.dataset.text === message.text && Number(row.dataset.after) < message.seq) || null;
  }

  // The bubble for a message the customer sent (or that waits in the outbox).
  function ownBubble(entry) {
    const row = messageRow({ sender: "customer", text: entry.text });
    row.classList.add("own", "pending");
    row.dataset.cid = entry.cid;
    row.dataset.text = entry.text;
    row.dataset.after = String(entry.after);
    ui.messages.append(row);
    markOwn(entry.cid, "sending");
    return row;
  }

  function markOwn(cid, status) {
    const row = ui.messages.querySelector(`.row.own[data-cid="${cssEscape(cid)}"]`);
    if (!row || (row.dataset.seq && status !== "sent")) return;
    const meta = row.querySelector(".meta");
    row.classList.toggle("pending", status === "sending" || status === "waiting");
    row.classList.toggle("failed", status === "failed");
    if (status === "sent" && !row.dataset.seq) {
      row.remove();
      insertConfirmed(row, null); // acknowledged: before whatever still waits
    }
    meta.textContent = {
      sending: labels.sending, waiting: labels.willSend, failed: labels.notSent, sent: row.dataset.seq ? meta.textContent : `${timeOf()} · ${labels.delivered}`,
    }[status];
  }

  function cssEscape(value) {
    return window.CSS && window.CSS.escape ? window.CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
  }

  function showReplies(list) {
    const shown = (list || []).filter((reply) => reply.payload !== "/sms" || (conversation.sms && !conversation.sms.phone));
    ui.replies.replaceChildren(...shown.map((reply) => el("button", {
      type: "button", class: "chip", "data-testid": "quick-reply", "data-payload": reply.payload, text: reply.title,
      onclick: () => {
        if (reply.payload === "/sms") return openSms(); // not a message: the SMS form
        submit(reply.title, reply.payload);
        ui.input.focus({ preventScroll: true }); // the buttons are gone: focus stays in the dialog
      },
    })));
    ui.replies.hidden = !shown.length;
    showSms(conversation.sms);
  }

  /* The outbox: what the customer sent, kept (in localStorage) until the server has it, sent in
     order, each with its client_message_id so that a repeat is recognised by the server. */

  let flushing = false;
  let retryTimer = null;
  let retryDelay = RETRY_MIN_MS;
  let sendFailing = false; // the last try to send failed for want of a connection

  function submit(text, payload) {
    text = text.trim();
    if (!text) return;
    typingStopped();
    hideSuggestions();
    const entry = { cid: uuid(), text, payload: payload || null, after: watermark };
    outbox.push(entry);
    saved.write("outbox", outbox);
    ownBubble(entry);
    showReplies([]);
    scrollToEnd();
    flush();
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    clearTimeout(retryTimer);
    let restarts = 0;
    try {
      while (outbox.length) {
        const entry = outbox[0];
        if (navigator.onLine === false) {
          markAllWaiting();
          break;
        }
        try {
          if (!session) await startConversation();
          markOwn(entry.cid, "sending");
          if (conversation.state === "bot" || conversation.state === null) showTyping("bot", true);
          const reply = await customerApi("/messages", {
            method: "POST", body: { text: entry.text, client_message_id: entry.cid, payload: entry.payload || undefined },
          });
          outbox = outbox.filter((waiting) => waiting.cid !== entry.cid);
          saved.write("outbox", outbox);
          markOwn(entry.cid, "sent");
          if (reply.continued_in) switchTo(reply.continued_in);
          reply.messages.forEach((message) => showMessage(message));
          applyConversation(reply.conversation);
          retryDelay = RETRY_MIN_MS;
          sendFailing = false;
        } catch (error) {
          if ([401, 403, 404].includes(error.status) && restarts < 2) {
            restarts += 1; // this conversation is gone: the message starts a new one
            forgetSession();
            continue;
          }
          if (error.status && error.status < 500 && ![408, 409, 429].includes(error.status)) {
            outbox = outbox.filter((waiting) => waiting.cid !== entry.cid); // it never will be accepted
            saved.write("outbox", outbox);
            markOwn(entry.cid, "failed");
            continue;
          }
          sendFailing = true;
          markAllWaiting();
          scheduleRetry((error.retryAfter || 0) * 1000);
          break;
        } finally {
          showTyping("bot", false);
        }
      }
    } finally {
      flushing = false;
      showConnection();
    }
  }

  function markAllWaiting() {
    for (const entry of outbox) markOwn(entry.cid, "waiting");
    showConnection();
  }

  function scheduleRetry(after = 0) {
    clearTimeout(retryTimer);
    const delay = Math.max(after, retryDelay * (0.75 + Math.random() / 2));
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
    retryTimer = setTimeout(flush, delay);
  }

  /* ---------------------------------------------------------------- live stream -- */

  let socket = null;
  let reconnectTimer = null;
  let reconnectDelay = RETRY_MIN_MS;
  let connected = false;
  let downSince = null;
  let downTimer = null;

  function connect() {
    clearTimeout(reconnectTimer);
    if (!session || (socket && socket.readyState <= WebSocket.OPEN)) return;
    const url = new URL(`api/conversations/${session.id}/stream`, BASE);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", session.token);
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      if (ws !== socket) return;
      reconnectDelay = RETRY_MIN_MS;
      setConnected(true);
      catchUp();
      flush();
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      try {
        handleEvent(JSON.parse(event.data));
      } catch {
        // not an event this widget knows
      }
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      socket = null;
      setConnected(false);
      showTyping("bot", false);
      showTyping("agent", false);
      if (event.code === 1008) return forgetSession(); // the token no longer opens it
      reconnectTimer = setTimeout(connect, reconnectDelay * (0.75 + Math.random() / 2));
      reconnectDelay = Math.min(reconnectDelay * 2, RETRY_MAX_MS);
    };
  }

  function closeSocket() {
    clearTimeout(reconnectTimer);
    if (!socket) return;
    const old = socket;
    socket = null;
    old.close();
    setConnected(false);
  }

  // Now, not after the back-off: the network came back or the page is shown again.
  function reconnectNow(fresh = false) {
    reconnectDelay = RETRY_MIN_MS;
    retryDelay = RETRY_MIN_MS;
    if (!fresh && socket && socket.readyState === WebSocket.OPEN) {
      catchUp();
      flush();
      return;
    }
    if (socket) {
      const stale = socket;
      socket = null;
      stale.close();
    }
    connect();
    flush();
  }

  function setConnected(on) {
    connected = on;
    clearTimeout(downTimer);
    downSince = on ? null : downSince || Date.now();
    if (!on) downTimer = setTimeout(showConnection, RECONNECTING_AFTER_MS + 50);
    showConnection();
  }

  // "Offline: will send when back" while the browser is offline or sending keeps failing;
  // "Reconnecting" while the live stream has been down a moment.
  function showConnection() {
    const offline = navigator.onLine === false || (sendFailing && outbox.length > 0);
    const down = Boolean(session) && !connected && downSince !== null && Date.now() - downSince >= RECONNECTING_AFTER_MS;
    const text = offline ? labels.offline : down ? labels.reconnecting : "";
    if (ui.offline.textContent !== text) ui.offline.textContent = text;
    ui.offline.hidden = !text;
    ui.subtitle.classList.toggle("off", Boolean(text));
  }

  // After (re)connecting: whatever was said while the socket was closed, and the state now.
  async function catchUp() {
    if (!session) return;
    const id = session.id;
    try {
      const [history, state] = await Promise.all([
        customerApi(`/messages?after=${watermark}`), customerApi(""),
      ]);
      if (!session || session.id !== id) return;
      history.messages.forEach((message) => showMessage(message, loaded));
      applyConversation(state);
    } catch (error) {
      if ([403, 404].includes(error.status) && session && session.id === id) forgetSession();
    } finally {
      loaded = true;
      ui.messages.removeAttribute("aria-busy");
    }
  }

  function handleEvent(event) {
    if (event.type === "message") showMessage(event.message);
    else if (event.type === "state") applyConversation(event.conversation || {});
    else if (event.type === "queue") showQueue(event);
    else if (event.type === "typing" && event.sender !== "customer") showTyping(event.sender, Boolean(event.typing));
  }

  /* ---------------------------------------------------------------- state, queue, typing -- */

  function applyConversation(info) {
    if (!info) return;
    if (info.state) {
      conversation.state = info.state;
      if (info.state !== "assigned") conversation.agent = null;
    }
    if (info.agent) conversation.agent = info.agent;
    if ("queue" in info) conversation.queue = info.queue;
    if (conversation.state !== "queued") conversation.queue = null;
    if (info.sms) conversation.sms = info.sms;
    if ("feedback" in info) conversation.feedback = info.feedback;
    else if (info.state === "resolved" && session) customerApi("").then(applyConversation, () => {}); // rated already?
    showHeader();
    showQueue(conversation.queue);
    showSms(conversation.sms);
    showFeedback();
  }

  function showHeader() {
    const state = conversation.state;
    let subtitle = labels.assistant;
    if (state === "queued") subtitle = labels.waiting;
    if (state === "assigned") subtitle = fill("withAgent", { agent: conversation.agent || "" });
    if (state === "resolved" || state === "closed") subtitle = labels.resolvedState;
    ui.subtitle.textContent = subtitle;
    const name = state === "assigned" && conversation.agent ? conversation.agent : config.company;
    ui.avatar.textContent = (name || "?").trim().charAt(0).toUpperCase();
  }

  function waitText(seconds) {
    return seconds < 60 ? labels.underMinute : fill("aboutMinutes", { n: Math.round(seconds / 60) });
  }

  // {"position", "expected_wait_s", "text"}: the place and the wait, updated live.
  function showQueue(queue) {
    if (queue && conversation.state && conversation.state !== "queued") queue = null;
    if (queue) conversation.queue = queue;
    ui.queue.hidden = !queue;
    if (!queue) return;
    const wait = typeof queue.expected_wait_s === "number" ? fill("queueWait", { wait: waitText(queue.expected_wait_s) }) : labels.noAgents;
    ui.queue.firstChild.replaceChildren(
      el("span", { class: "pos", "data-testid": "queue-position", text: fill("queue", { position: queue.position }) }),
      el("span", { "data-testid": "queue-wait", text: wait }),
    );
    ui.queue.firstChild.title = queue.text || "";
  }

  // The customer gives up waiting: the conversation ends (abandoned), and no rating is asked.
  async function leaveQueue() {
    if (!session) return;
    const button = ui.queue.lastChild;
    button.disabled = true;
    try {
      const left = await customerApi("/leave", { method: "POST" });
      saved.write("left", session.id);
      applyConversation(left);
      insertConfirmed(el("p", { class: "divider", "data-testid": "left", role: "status", text: labels.left }), null);
      scrollToEnd();
      ui.input.focus();
    } catch {
      catchUp(); // it was no longer waiting: show how things stand
    } finally {
      button.disabled = false;
    }
  }

  const typingTimers = {};

  function showTyping(sender, on) {
    clearTimeout(typingTimers[sender]);
    ui.typing.dataset[sender] = on ? "1" : "";
    if (on) typingTimers[sender] = setTimeout(() => showTyping(sender, false), TYPING_SHOWN_MAX_MS);
    const agent = ui.typing.dataset.agent === "1";
    const who = agent ? (conversation.agent ? fill("agentTyping", { agent: conversation.agent }) : labels.staffTyping) : labels.botTyping;
    const shown = agent || ui.typing.dataset.bot === "1";
    ui.typing.lastChild.textContent = shown ? who : "";
    const stick = nearBottom();
    ui.typing.hidden = !shown;
    if (shown && stick) scrollToEnd();
  }

  /* The customer's typing, told to the agent: true at the first keystroke, false after
     TYPING_IDLE_MS without one or when the message is sent. */
  let typing = false;
  let typingTimer = null;

  function sendTyping(on) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "typing", typing: on }));
  }

  function typingKeystroke() {
    if (!session) return;
    if (!typing) {
      typing = true;
      sendTyping(true);
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(typingStopped, TYPING_IDLE_MS);
  }

  function typingStopped() {
    clearTimeout(typingTimer);
    if (typing) {
      typing = false;
      sendTyping(false);
    }
  }

  /* ---------------------------------------------------------------- knowledge-base suggestions -- */

  let suggestTimer = null;
  let suggestAbort = null;
  let suggestedIds = "";
  const answers = new Map(); // article id -> its answer (a promise)

  function scheduleSuggestions() {
    clearTimeout(suggestTimer);
    const query = ui.input.value.trim();
    if (session || query.length < SUGGEST_MIN_CHARS) {
      if (suggestAbort) suggestAbort.abort();
      return hideSuggestions();
    }
    suggestTimer = setTimeout(() => suggest(query), SUGGEST_DELAY_MS);
  }

  async function suggest(query) {
    if (suggestAbort) suggestAbort.abort();
    const controller = new AbortController();
    suggestAbort = controller;
    try {
      const result = await request(`api/kb/search?q=${encodeURIComponent(query)}`, { signal: controller.signal });
      if (controller !== suggestAbort || session || ui.input.value.trim() !== query) return;
      const hits = (result.hits || [])
        .filter((hit) => (hit.confidence ?? hit.score) >= SUGGEST_MIN_CONFIDENCE)
        .slice(0, SUGGEST_COUNT);
      if (result.decision === "fallback" || !hits.length) return hideSuggestions();
      showSuggestions(hits);
    } catch {
      // suggestions are a help, not a step: without them the customer just sends
    }
  }

  function showSuggestions(hits) {
    const ids = hits.map((hit) => hit.id || hit.article_id).join(" ");
    if (ids === suggestedIds && !ui.suggest.hidden) return; // keep what the customer opened
    suggestedIds = ids;
    const stick = nearBottom();
    ui.suggest.replaceChildren(
      el("h3", { id: "hd-suggest-title", text: labels.suggestions }),
      ...hits.map((hit, i) => suggestion(hit, i)),
      el("p", { class: "hint", text: labels.suggestHint }),
    );
    ui.suggest.hidden = false;
    if (stick) scrollToEnd();
  }

  function suggestion(hit, i) {
    const id = hit.id || hit.article_id;
    const answer = el("div", { class: "answer", id: `hd-answer-${i}`, "data-testid": "suggestion-answer", role: "region", "aria-label": hit.question, hidden: true });
    const toggle = el("button", {
      type: "button", "aria-expanded": "false", "aria-controls": `hd-answer-${i}`, "data-testid": "suggestion", text: hit.question,
      onclick: async () => {
        const opening = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(opening));
        answer.hidden = !opening;
        if (!opening || answer.dataset.loaded) return;
        answer.textContent = labels.loading;
        if (!answers.has(id)) answers.set(id, request(`api/kb/articles/${encodeURIComponent(id)}`).then((a) => a.answer));
        try {
          answer.replaceChildren(formatted(await answers.get(id)));
          answer.dataset.loaded = "1";
        } catch {
          answers.delete(id);
          answer.textContent = labels.articleFailed;
        }
      },
    });
    return el("div", { class: "article" }, toggle, answer);
  }

  function hideSuggestions() {
    clearTimeout(suggestTimer);
    suggestedIds = "";
    ui.suggest.hidden = true;
    ui.suggest.replaceChildren();
  }

  /* ---------------------------------------------------------------- feedback (CSAT, CES) -- */

  let feedbackState = "none"; // none | asking | thanked

  function showFeedback() {
    const asking = conversation.state === "resolved" && conversation.feedback === null
      && !(session && saved.read("left", null) === session.id);
    if (asking && feedbackState === "none") {
      feedbackState = "asking";
      ui.feedback.replaceChildren(feedbackForm());
      if (nearBottom() || isOpen()) requestAnimationFrame(scrollToEnd);
    } else if (!asking && feedbackState === "asking") {
      feedbackState = "none";
      ui.feedback.replaceChildren();
    } else if (conversation.state !== "resolved" && feedbackState === "thanked") {
      feedbackState = "none";
      ui.feedback.replaceChildren();
    }
  }

  function scale(name, legend, count, testid, describe) {
    const group = el("div", { class: name === "csat" ? "stars" : "scale", role: "radiogroup", "aria-labelledby": `hd-${name}-title`, "data-testid": testid });
    for (let value = 1; value <= count; value += 1) {
      const input = el("input", { type: "radio", name: `hd-${name}`, value: String(value), "aria-label": describe(value) });
      const label = el("label", { "data-testid": `${testid}-${value}`, title: describe(value) }, input,
        el("span", { "aria-hidden": "true", text: name === "csat" ? "★" : String(value) }));
      input.addEventListener("change", () => {
        for (const other of group.querySelectorAll("label")) {
          const otherValue = Number(other.querySelector("input").value);
          other.classList.toggle("on", name === "csat" ? otherValue <= value : otherValue === value);
        }
      });
      group.append(label);
    }
    return [el("p", { id: `hd-${name}-title`, class: "legend", text: legend }), group];
  }

  function feedbackForm() {
    const error = el("p", { class: "error", role: "alert", "data-testid": "feedback-error", hidden: true });
    const comment = el("textarea", { id: "hd-comment", maxlength: "2000", rows: "2", "data-testid": "feedback-comment" });
    const button = el("button", { type: "submit", class: "primary", "data-testid": "feedback-submit", text: labels.rate });
    const form = el("form", { class: "card feedback", "data-testid": "feedback", "aria-labelledby": "hd-csat-title" },
      ...scale("csat", labels.csatTitle, 5, "csat", (n) => `${n} / 5 — ${labels.csat[n - 1]}`),
      ...scale("ces", labels.cesTitle, 5, "ces", (n) => `${n} / 5`),
      el("div", { class: "ends", "aria-hidden": "true" }, el("span", { text: labels.cesLow }), el("span", { text: labels.cesHigh })),
      el("label", { class: "field", for: "hd-comment" }, labels.comment), comment, error, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const csat = Number((form.querySelector('input[name="hd-csat"]:checked') || {}).value || 0);
      const ces = Number((form.querySelector('input[name="hd-ces"]:checked') || {}).value || 0);
      error.hidden = true;
      if (!csat) {
        error.textContent = labels.rateNeeded;
        error.hidden = false;
        return;
      }
      button.disabled = true;
      try {
        const given = await customerApi("/feedback", {
          method: "POST", body: { csat, ces: ces || null, comment: comment.value.trim() || null },
        });
        thank(given);
      } catch (failed) {
        if (failed.status === 409) { // given already (another tab), or reopened meanwhile
          const now = await customerApi("").catch(() => null);
          if (now && now.feedback) return thank(now.feedback);
          if (now) return applyConversation(now);
        }
        error.textContent = labels.rateFailed;
        error.hidden = false;
        button.disabled = false;
      }
    });
    return form;
  }

  function thank(given) {
    conversation.feedback = given;
    feedbackState = "thanked";
    const thanks = el("p", { class: "card thanks", "data-testid": "feedback-thanks", role: "status", tabindex: "-1", text: labels.thanks });
    ui.feedback.replaceChildren(thanks);
    if (isOpen()) thanks.focus({ preventScroll: true }); // the form is gone: focus stays in the dialog
    scrollToEnd();
  }

  /* ---------------------------------------------------------------- continuing by SMS -- */

  let smsPhone = ""; // the number the last code went to, for "Send a new code"

  // The offer while waiting for a person (SMS possible, no number linked); the note once one is.
  function showSms(info) {
    if (!info) return;
    conversation.sms = info;
    ui.smsLinked.textContent = info.phone ? fill("smsLinked", { phone: info.phone }) : "";
    ui.smsLinked.hidden = !info.phone;
    if (info.phone) ui.sms.hidden = true;
    const chip = ui.replies.querySelector('[data-payload="/sms"]');
    ui.smsOffer.hidden = !session || !info.available || Boolean(info.phone) || !ui.sms.hidden
      || conversation.state !== "queued" || Boolean(chip);
  }

  function openSms() {
    if (!session) return;
    showSmsError("");
    ui.smsOffer.hidden = true;
    ui.smsCodeForm.hidden = true;
    ui.smsResend.hidden = true;
    ui.smsPhoneForm.hidden = false;
    ui.sms.hidden = false;
    ui.smsPhone.focus();
  }

  function closeSms() {
    ui.sms.hidden = true;
    showSms(conversation.sms);
    ui.input.focus();
  }

  function showSmsError(message) {
    ui.smsError.textContent = message;
    ui.smsError.hidden = !message;
  }

  function smsWait(seconds) {
    return seconds < 60 ? fill("seconds", { n: seconds }) : fill("minutes", { n: Math.ceil(seconds / 60) });
  }

  // The server's words for a failed SMS request (422, 429, 410, 404), with what the customer can do next.
  function smsFailure(error) {
    const body = error.body || {};
    const parts = [typeof body.detail === "string" && body.detail ? body.detail : labels.smsFailed];
    if (typeof body.attempts_left === "number") parts.push(fill("smsAttemptsLeft", { n: body.attempts_left }));
    if (error.status === 429 && error.retryAfter) parts.push(fill("smsRetryIn", { time: smsWait(error.retryAfter) }));
    if (error.status === 404) conversation.sms = { ...conversation.sms, available: false };
    ui.smsResend.hidden = error.status !== 410 || !smsPhone;
    showSmsError(parts.join(" "));
  }

  async function smsRequest(form, path, body) {
    const button = form.querySelector("button");
    button.disabled = true;
    showSmsError("");
    try {
      return await customerApi(path, { method: "POST", body });
    } catch (error) {
      smsFailure(error);
      return null;
    } finally {
      button.disabled = false;
    }
  }

  async function requestCode(phone) {
    if (!phone) {
      showSmsError(labels.smsNeedPhone);
      ui.smsPhone.focus();
      return;
    }
    const answer = await smsRequest(ui.smsPhoneForm, "/sms", { phone });
    if (!answer) {
      if (!ui.smsPhoneForm.hidden) ui.smsPhone.focus();
      return;
    }
    smsPhone = phone;
    ui.smsResend.hidden = true;
    ui.smsPhoneForm.hidden = true;
    ui.smsSent.textContent = fill("smsSent", { phone: answer.phone || phone });
    ui.smsCodeForm.hidden = false;
    ui.smsCode.value = "";
    ui.smsCode.focus();
  }

  async function verifyCode() {
    const code = ui.smsCode.value.replace(/\D/g, "");
    if (code.length !== 6) {
      showSmsError(labels.smsNeedCode);
      ui.smsCode.focus();
      return;
    }
    const answer = await smsRequest(ui.smsCodeForm, "/sms/verify", { code });
    if (!answer) {
      ui.smsCode.focus();
      ui.smsCode.select();
      return;
    }
    showSms({ ...conversation.sms, phone: answer.phone || smsPhone });
    ui.input.focus();
  }

  /* ---------------------------------------------------------------- opening, closing, keyboard -- */

  const narrow = window.matchMedia("(max-width: 600px)");

  function isOpen() {
    return !ui.panel.hidden;
  }

  function open(focus = true) {
    ui.panel.hidden = false;
    root.classList.add("open");
    ui.launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    showUnread();
    fitViewport();
    try {
      sessionStorage.setItem(`${KEY}:open`, "1");
    } catch {
      // not remembered
    }
    scrollToEnd();
    if (focus) ui.input.focus({ preventScroll: true });
  }

  function close() {
    ui.panel.hidden = true;
    ui.panel.style.removeProperty("animation");
    root.classList.remove("open");
    ui.launcher.setAttribute("aria-expanded", "false");
    try {
      sessionStorage.removeItem(`${KEY}:open`);
    } catch {
      // not remembered
    }
    ui.launcher.focus();
  }

  function showUnread() {
    ui.badge.textContent = String(unread);
    ui.badge.hidden = !unread;
    ui.launcher.setAttribute("aria-label", unread ? fill("launcherUnread", { n: unread }) : labels.launcher);
  }

  // Full screen on a phone: modal, and sized to the visual viewport so that the on-screen
  // keyboard never covers the input.
  function fitViewport() {
    ui.panel.setAttribute("aria-modal", narrow.matches ? "true" : "false");
    const viewport = window.visualViewport;
    if (!viewport || !narrow.matches) {
      root.style.removeProperty("--hd-vv-height");
      root.style.removeProperty("--hd-vv-top");
      return;
    }
    root.style.setProperty("--hd-vv-height", `${Math.round(viewport.height)}px`);
    root.style.setProperty("--hd-vv-top", `${Math.round(viewport.offsetTop)}px`);
  }

  function focusable() {
    return [...ui.panel.querySelectorAll("button, textarea, input, [tabindex='0']")].filter(
      (node) => !node.disabled && node.getClientRects().length > 0,
    );
  }

  ui.panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
      return;
    }
    if (event.key !== "Tab" || !narrow.matches) return; // full screen: Tab stays in the dialog
    const nodes = focusable();
    if (!nodes.length) return;
    const active = shadow.activeElement;
    if (event.shiftKey && active === nodes[0]) {
      event.preventDefault();
      nodes[nodes.length - 1].focus();
    } else if (!event.shiftKey && active === nodes[nodes.length - 1]) {
      event.preventDefault();
      nodes[0].focus();
    }
  });

  function autoGrow() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 132)}px`;
  }

  ui.input.addEventListener("input", () => {
    ui.send.disabled = !ui.input.value.trim();
    autoGrow();
    typingKeystroke();
    scheduleSuggestions();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.input.value;
    if (!text.trim()) return;
    ui.input.value = "";
    ui.send.disabled = true;
    autoGrow();
    submit(text);
    ui.input.focus({ preventScroll: true });
  });

  // Back online: a socket that lived through the outage may be dead without knowing it, so a new one.
  window.addEventListener("online", () => {
    showConnection();
    if (session) reconnectNow(true);
    else flush();
  });
  window.addEventListener("offline", () => {
    markAllWaiting();
    showConnection();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && session && !(socket && socket.readyState === WebSocket.OPEN)) reconnectNow();
  });
  if (window.visualViewport) {
    window.visualViewport.addEventListener("resize", fitViewport);
    window.visualViewport.addEventListener("scroll", fitViewport);
  }
  narrow.addEventListener("change", fitViewport);

  /* ---------------------------------------------------------------- start -- */

  function mount() {
    document.body.append(host);
    applyConfig({});
    request("api/widget/config").then(applyConfig, () => {});
    for (const entry of outbox) ownBubble(entry); // sent on reconnect, in order
    if (outbox.length && navigator.onLine === false) markAllWaiting();
    let reopen = false;
    try {
      reopen = sessionStorage.getItem(`${KEY}:open`) === "1";
    } catch {
      // stays closed
    }
    if (reopen) {
      ui.panel.style.animation = "none"; // as it was before the reload, not opening anew
      open(false);
    }
    if (session) {
      ui.messages.setAttribute("aria-busy", "true"); // the history is not news to announce
      catchUp(); // the history so far, and again whenever the live stream (re)opens
      connect();
    } else {
      loaded = true;
    }
    if (outbox.length) flush();
  }

  window.HelpdeskWidget = { open: () => open(), close: () => close(), version: 1 };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
