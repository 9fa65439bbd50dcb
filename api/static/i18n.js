// Every interface string of the agent console (/console) and the manager page (/console/manager),
// in Russian and English. The language follows the browser, can be switched with a button, and
// the choice is kept in localStorage. Strings are only ever put on the page with textContent.
"use strict";

const I18n = (() => {
  const STORAGE_KEY = "helpdesk-console-lang";
  const LANGUAGES = ["ru", "en"];

  const STRINGS = {
    en: {
      "lang.switch": "Русский",
      "lang.switchLabel": "Переключить язык на русский",
      "lang.ru": "Russian",
      "lang.en": "English",

      "console.title": "Helpdesk — agent console",
      "manager.title": "Helpdesk — manager",
      brand: "Helpdesk",

      "login.heading": "Sign in",
      "login.username": "Username",
      "login.password": "Password",
      "login.submit": "Sign in",
      "login.wrong": "Wrong username or password.",

      "header.presence": "Status",
      "header.logout": "Sign out",
      "header.manager": "Manager pages",
      "presence.online": "Online",
      "presence.away": "Away",
      "presence.offline": "Offline",
      "role.agent": "Agent",
      "role.manager": "Manager",
      "role.admin": "Administrator",

      "error.dismiss": "Dismiss",
      "error.status": "The request failed ({status}).",
      "error.network": "The server cannot be reached.",

      "queue.label": "Queue",
      "queue.mine": "Mine",
      "queue.waiting": "Waiting",
      "queue.emptyMine": "You hold no conversations.",
      "queue.emptyWaiting": "No one is waiting.",
      "queue.live": "Connected",
      "queue.reconnecting": "Reconnecting…",
      "queue.waitingFor": "waiting {time}",
      "queue.heldBy": "→ {name}",
      "priority.urgent": "Urgent",
      "priority.high": "High",
      "priority.normal": "Normal",
      vip: "VIP",
      "sla.left": "first reply in {time}",
      "sla.overdue": "first reply overdue {time}",
      "sla.answered": "answered",
      "unit.day": "d",
      "unit.hour": "h",

      "conversation.empty": "Choose a conversation in the queue.",
      "conversation.loading": "Loading…",
      "state.bot": "with the bot",
      "state.queued": "queued",
      "state.assigned": "assigned",
      "state.resolved": "resolved",
      "state.closed": "closed",
      "holder.you": "You hold this conversation",
      "holder.other": "Held by {name}",
      "holder.queued": "Waiting in queue",
      "holder.bot": "The bot is answering",
      "holder.resolved": "Resolved: {code}",
      "holder.closed": "Closed",
      "holder.replyLater": "The customer will be answered later",

      "action.claim": "Claim",
      "action.release": "Release",
      "action.transfer": "Transfer…",
      "action.resolve": "Resolve",
      "resolve.label": "Resolution",
      "resolution.solved": "Solved",
      "resolution.not_solved": "Not solved",
      "resolution.duplicate": "Duplicate",
      "resolution.spam": "Spam",

      "transfer.heading": "Transfer the conversation",
      "transfer.agent": "To an agent",
      "transfer.noAgent": "— nobody —",
      "transfer.agentOption": "{name} ({presence}, {load}/{capacity})",
      "transfer.team": "Or to a team",
      "transfer.note": "Note for whoever takes it",
      "transfer.submit": "Transfer",
      "transfer.cancel": "Cancel",
      "transfer.needTarget": "Choose an agent or type a team.",
      "transfer.needNote": "Write a note for whoever takes the conversation.",

      "handoff.heading": "Handoff from the bot",
      "handoff.none": "The bot did not hand this conversation over.",
      "handoff.reason": "Reason",
      "reason.customer_asked": "Asked for a person",
      "customer.markVip": "Mark as VIP",
      "customer.unmarkVip": "Remove VIP status",
      "reason.angry": "Customer is upset",
      "reason.bot_could_not_help": "The bot could not help",
      "reason.bot_unavailable": "The bot was unavailable",
      "reason.knowledge_unavailable": "The knowledge base was unavailable",
      "handoff.priority": "Priority",
      "handoff.language": "Language",
      "handoff.channel": "Channel",
      "handoff.intents": "What the customer said",
      "handoff.noIntents": "No intents recorded.",
      "intent.text": "Words",
      "intent.name": "Intent",
      "intent.confidence": "Confidence",
      "handoff.articles": "What the bot tried",
      "handoff.noArticles": "The bot did not search the knowledge base.",
      "handoff.words": "The customer's words",
      "article.query": "Searched for “{query}”",
      "article.score": "{score} match",
      "article.candidates": "Offered to choose from:",
      "decision.answer": "answered",
      "decision.clarify": "asked to clarify",
      "decision.fallback": "found nothing",
      "reaction.helped": "Helped",
      "reaction.did_not_help": "Did not help",
      "reaction.chose": "Chose {article}",
      "reaction.none": "No reaction",

      "customer.heading": "Customer",
      "customer.unnamed": "Name unknown",
      "customer.earlier": "Earlier conversations",
      "customer.noEarlier": "No earlier conversations.",
      "earlier.date": "Date",
      "earlier.channel": "Channel",
      "earlier.state": "State",
      "earlier.resolution": "Resolution",
      "earlier.firstMessage": "First message",
      "earlier.agent": "Agent",

      "transcript.heading": "Transcript",
      "transcript.empty": "No messages yet.",
      "transcript.buttons": "Buttons offered: {titles}",
      "sender.customer": "Customer",
      "sender.bot": "Bot",
      "sender.agent": "Agent",
      "sender.system": "System",

      "notes.heading": "Internal notes",
      "notes.warning": "Internal — not sent to the customer",
      "notes.empty": "No notes yet.",
      "vouchers.heading": "Goodwill vouchers",
      "vouchers.empty": "No vouchers granted.",
      "vouchers.line": "{amount} {currency} · {type} · code {code} · {agent}",

      "reply.label": "Reply to the customer",
      "reply.placeholder": "Write a reply. Enter sends, Shift+Enter starts a new line.",
      "reply.notHolder": "Claim the conversation to write to the customer.",
      "reply.send": "Send",
      "reply.note": "Save as internal note",
      "reply.customerTyping": "The customer is typing…",

      "canned.label": "Canned responses",
      "canned.choose": "Insert a canned response…",
      "kb.heading": "Knowledge base",
      "kb.label": "Search the knowledge base",
      "kb.placeholder": "Search articles",
      "kb.search": "Search",
      "kb.insert": "Insert",
      "kb.nothing": "Nothing found.",
      "voucher.type": "Type",
      "voucher.option": "{type} (up to {limit} {currency})",
      "voucher.amount": "Amount",
      "voucher.send": "Grant voucher",
      "voucher.invalid": "Enter an amount above zero.",

      "manager.back": "Back to the console",
      "manager.signIn": "Sign in at the console first.",
      "manager.forbidden": "Only managers and administrators can use this page.",
      "cannedAdmin.heading": "Canned responses",
      "cannedAdmin.empty": "No canned responses yet.",
      "cannedAdmin.new": "New canned response",
      "cannedAdmin.editing": "Edit canned response",
      "cannedAdmin.title": "Title",
      "cannedAdmin.language": "Language",
      "cannedAdmin.text": "Text",
      "cannedAdmin.placeholders": "These placeholders are filled in for each conversation (click to insert):",
      "cannedAdmin.customer_name": "the customer's name",
      "cannedAdmin.agent_name": "the name of the agent who sends it",
      "cannedAdmin.company": "the company's name",
      "cannedAdmin.save": "Save",
      "cannedAdmin.cancel": "Cancel",
      "cannedAdmin.edit": "Edit",
      "cannedAdmin.delete": "Delete",
      "cannedAdmin.confirmDelete": "Delete the canned response “{title}”?",
      "cannedAdmin.required": "Fill in the title and the text.",
      "audit.heading": "Audit log",
      "audit.refresh": "Refresh",
      "audit.at": "Time",
      "audit.actor": "Who",
      "audit.action": "Action",
      "audit.target": "Target",
      "audit.data": "Details",
      "audit.empty": "Nothing recorded yet.",
    },
    ru: {
      "lang.switch": "English",
      "lang.switchLabel": "Switch the language to English",
      "lang.ru": "русский",
      "lang.en": "английский",

      "console.title": "Helpdesk — консоль оператора",
      "manager.title": "Helpdesk — управление",
      brand: "Helpdesk",

      "login.heading": "Вход",
      "login.username": "Имя пользователя",
      "login.password": "Пароль",
      "login.submit": "Войти",
      "login.wrong": "Неверное имя пользователя или пароль.",

      "header.presence": "Статус",
      "header.logout": "Выйти",
      "header.manager": "Управление",
      "presence.online": "В сети",
      "presence.away": "Отошёл",
      "presence.offline": "Не в сети",
      "role.agent": "Оператор",
      "role.manager": "Руководитель",
      "role.admin": "Администратор",

      "error.dismiss": "Закрыть",
      "error.status": "Запрос не выполнен ({status}).",
      "error.network": "Сервер недоступен.",

      "queue.label": "Очередь",
      "queue.mine": "Мои",
      "queue.waiting": "Ожидают",
      "queue.emptyMine": "У вас нет разговоров.",
      "queue.emptyWaiting": "Никто не ждёт.",
      "queue.live": "Подключено",
      "queue.reconnecting": "Переподключение…",
      "queue.waitingFor": "ждёт {time}",
      "queue.heldBy": "→ {name}",
      "priority.urgent": "Срочно",
      "priority.high": "Высокий",
      "priority.normal": "Обычный",
      vip: "VIP",
      "sla.left": "первый ответ через {time}",
      "sla.overdue": "первый ответ просрочен на {time}",
      "sla.answered": "отвечено",
      "unit.day": "д",
      "unit.hour": "ч",

      "conversation.empty": "Выберите разговор в очереди.",
      "conversation.loading": "Загрузка…",
      "state.bot": "у бота",
      "state.queued": "в очереди",
      "state.assigned": "назначен",
      "state.resolved": "решён",
      "state.closed": "закрыт",
      "holder.you": "Разговор у вас",
      "holder.other": "Разговор у: {name}",
      "holder.queued": "Ждёт в очереди",
      "holder.bot": "Отвечает бот",
      "holder.resolved": "Решён: {code}",
      "holder.closed": "Закрыт",
      "holder.replyLater": "Клиенту ответят позже",

      "action.claim": "Взять",
      "action.release": "Вернуть в очередь",
      "action.transfer": "Передать…",
      "action.resolve": "Завершить",
      "resolve.label": "Итог",
      "resolution.solved": "Решено",
      "resolution.not_solved": "Не решено",
      "resolution.duplicate": "Дубликат",
      "resolution.spam": "Спам",

      "transfer.heading": "Передать разговор",
      "transfer.agent": "Оператору",
      "transfer.noAgent": "— никому —",
      "transfer.agentOption": "{name} ({presence}, {load}/{capacity})",
      "transfer.team": "Или команде",
      "transfer.note": "Заметка для того, кто возьмёт",
      "transfer.submit": "Передать",
      "transfer.cancel": "Отмена",
      "transfer.needTarget": "Выберите оператора или впишите команду.",
      "transfer.needNote": "Напишите заметку для того, кто возьмёт разговор.",

      "handoff.heading": "Передача от бота",
      "handoff.none": "Бот не передавал этот разговор.",
      "handoff.reason": "Причина",
      "reason.customer_asked": "Попросил сотрудника",
      "customer.markVip": "Отметить как VIP",
      "customer.unmarkVip": "Снять статус VIP",
      "reason.angry": "Клиент недоволен",
      "reason.bot_could_not_help": "Бот не смог помочь",
      "reason.bot_unavailable": "Бот был недоступен",
      "reason.knowledge_unavailable": "База знаний была недоступна",
      "handoff.priority": "Приоритет",
      "handoff.language": "Язык",
      "handoff.channel": "Канал",
      "handoff.intents": "Что сказал клиент",
      "handoff.noIntents": "Намерения не записаны.",
      "intent.text": "Слова",
      "intent.name": "Намерение",
      "intent.confidence": "Уверенность",
      "handoff.articles": "Что пробовал бот",
      "handoff.noArticles": "Бот не искал в базе знаний.",
      "handoff.words": "Слова клиента",
      "article.query": "Искал «{query}»",
      "article.score": "совпадение {score}",
      "article.candidates": "Предложил на выбор:",
      "decision.answer": "ответил",
      "decision.clarify": "попросил уточнить",
      "decision.fallback": "ничего не нашёл",
      "reaction.helped": "Помогло",
      "reaction.did_not_help": "Не помогло",
      "reaction.chose": "Выбрал {article}",
      "reaction.none": "Без реакции",

      "customer.heading": "Клиент",
      "customer.unnamed": "Имя неизвестно",
      "customer.earlier": "Прежние разговоры",
      "customer.noEarlier": "Прежних разговоров нет.",
      "earlier.date": "Дата",
      "earlier.channel": "Канал",
      "earlier.state": "Состояние",
      "earlier.resolution": "Итог",
      "earlier.firstMessage": "Первое сообщение",
      "earlier.agent": "Оператор",

      "transcript.heading": "Переписка",
      "transcript.empty": "Сообщений пока нет.",
      "transcript.buttons": "Предложены кнопки: {titles}",
      "sender.customer": "Клиент",
      "sender.bot": "Бот",
      "sender.agent": "Оператор",
      "sender.system": "Система",

      "notes.heading": "Внутренние заметки",
      "notes.warning": "Внутреннее — клиенту не отправляется",
      "notes.empty": "Заметок пока нет.",
      "vouchers.heading": "Компенсации",
      "vouchers.empty": "Компенсаций не выдавали.",
      "vouchers.line": "{amount} {currency} · {type} · код {code} · {agent}",

      "reply.label": "Ответ клиенту",
      "reply.placeholder": "Напишите ответ. Enter — отправить, Shift+Enter — новая строка.",
      "reply.notHolder": "Возьмите разговор, чтобы писать клиенту.",
      "reply.send": "Отправить",
      "reply.note": "Сохранить как заметку",
      "reply.customerTyping": "Клиент печатает…",

      "canned.label": "Шаблоны ответов",
      "canned.choose": "Вставить шаблон…",
      "kb.heading": "База знаний",
      "kb.label": "Поиск по базе знаний",
      "kb.placeholder": "Поиск статей",
      "kb.search": "Найти",
      "kb.insert": "Вставить",
      "kb.nothing": "Ничего не найдено.",
      "voucher.type": "Вид",
      "voucher.option": "{type} (до {limit} {currency})",
      "voucher.amount": "Сумма",
      "voucher.send": "Выдать",
      "voucher.invalid": "Введите сумму больше нуля.",

      "manager.back": "Вернуться в консоль",
      "manager.signIn": "Сначала войдите в консоли.",
      "manager.forbidden": "Эта страница доступна только руководителям и администраторам.",
      "cannedAdmin.heading": "Шаблоны ответов",
      "cannedAdmin.empty": "Шаблонов пока нет.",
      "cannedAdmin.new": "Новый шаблон",
      "cannedAdmin.editing": "Изменение шаблона",
      "cannedAdmin.title": "Название",
      "cannedAdmin.language": "Язык",
      "cannedAdmin.text": "Текст",
      "cannedAdmin.placeholders":
        "Эти подстановки заполняются для каждого разговора (нажмите, чтобы вставить):",
      "cannedAdmin.customer_name": "имя клиента",
      "cannedAdmin.agent_name": "имя оператора, который отправляет",
      "cannedAdmin.company": "название компании",
      "cannedAdmin.save": "Сохранить",
      "cannedAdmin.cancel": "Отмена",
      "cannedAdmin.edit": "Изменить",
      "cannedAdmin.delete": "Удалить",
      "cannedAdmin.confirmDelete": "Удалить шаблон «{title}»?",
      "cannedAdmin.required": "Заполните название и текст.",
      "audit.heading": "Журнал действий",
      "audit.refresh": "Обновить",
      "audit.at": "Время",
      "audit.actor": "Кто",
      "audit.action": "Действие",
      "audit.target": "Объект",
      "audit.data": "Подробности",
      "audit.empty": "Пока ничего не записано.",
    },
  };

  const listeners = [];
  let current = initialLanguage();

  function initialLanguage() {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(saved)) return saved;
    return (navigator.language || "en").toLowerCase().startsWith("ru") ? "ru" : "en";
  }

  /** The string for `key` in the current language, with `{name}` replaced from `params`. */
  function t(key, params = {}) {
    const template = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }

  /** Translates the static markup: data-i18n (text), data-i18n-placeholder, data-i18n-label. */
  function apply(root = document) {
    document.documentElement.lang = current;
    for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
    for (const element of root.querySelectorAll("[data-i18n-placeholder]")) {
      element.placeholder = t(element.dataset.i18nPlaceholder);
    }
    for (const element of root.querySelectorAll("[data-i18n-label]")) {
      element.setAttribute("aria-label", t(element.dataset.i18nLabel));
    }
  }

  function setLanguage(language) {
    current = language;
    localStorage.setItem(STORAGE_KEY, language);
    apply();
    for (const listener of listeners) listener(language);
  }

  /** Makes `button` switch between the two languages. */
  function bindSwitch(button) {
    const label = () => {
      button.textContent = t("lang.switch");
      button.setAttribute("aria-label", t("lang.switchLabel"));
    };
    label();
    button.addEventListener("click", () => {
      setLanguage(current === "ru" ? "en" : "ru");
      label();
    });
  }

  return {
    t,
    apply,
    bindSwitch,
    onChange: (listener) => listeners.push(listener),
    get language() {
      return current;
    },
  };
})();
