// The manager page's knowledge-base panel: find articles, create and edit them (API:
// docs/knowledge-base.md). `/console/manager?draft=<JSON>` opens the editor prefilled, as the
// knowledge-base gaps page links it: the draft is untrusted, so only the known fields are read,
// as text of bounded length, and only ever reach the page as form values and text nodes.
"use strict";

const ArticlesPanel = (() => {
  const PAGE_SIZE = 20;
  const LIMITS = { question: 1000, phrasing: 1000, phrasings: 500, answer: 20000, tags: 50 };
  const LANGUAGES = ["ru", "en"];
  const FIELDS = ["question", "lang", "id", "group", "phrasings", "answer", "sms_answer", "tags"];
  // the server's kind of problem -> the string saying it in the manager's language
  const PROBLEMS = {
    missing: "articles.error.required",
    string_too_short: "articles.error.required",
    string_too_long: "articles.error.tooLong",
    too_long: "articles.error.tooMany",
    literal_error: "articles.error.language",
    blank_item: "articles.error.blank",
    spaces: "articles.error.spaces",
    id_changed: "articles.error.idChanged",
  };

  const t = I18n.t;
  const $ = (id) => document.getElementById(id);
  const state = { query: "", offset: 0, total: 0, articles: [], editing: null, fromDraft: false };

  /* ---------- the list ---------- */

  async function load() {
    const params = new URLSearchParams({ q: state.query, offset: state.offset, limit: PAGE_SIZE });
    await attempt(async () => {
      const page = await api(`/api/manager/articles?${params}`);
      state.total = page.total;
      state.articles = page.articles;
      renderList();
    });
  }

  function renderList() {
    const entries = state.articles.length
      ? state.articles.map(entry)
      : [h("li", { className: "muted", text: t(state.query ? "articles.noMatch" : "articles.empty") })];
    $("article-list").replaceChildren(...entries);
    const shown = state.articles.length;
    $("articles-count").textContent = shown
      ? t("articles.count", { from: state.offset + 1, to: state.offset + shown, total: state.total })
      : "";
    $("articles-previous").disabled = state.offset === 0;
    $("articles-next").disabled = state.offset + shown >= state.total;
  }

  function entry(article) {
    const edit = h("button", { text: t("articles.edit"), testid: "article-edit" });
    edit.type = "button";
    edit.addEventListener("click", () => openSaved(article.id));
    return h("li", { className: "article-entry", "data-article-id": article.id }, [
      h("div", { className: "row" }, [
        h("strong", { className: "article-question", text: article.question }),
        h("span", { className: "badge priority-normal", text: article.lang }),
        !article.published && h("span", { className: "badge priority-high", text: t("articles.unpublished") }),
        h("span", { className: "spacer" }),
        edit,
      ]),
      h("div", { className: "muted article-meta" }, [
        h("code", { text: article.id }),
        article.tags.length ? ` · ${article.tags.join(", ")}` : null,
      ]),
    ]);
  }

  function search(event) {
    event.preventDefault();
    state.query = $("articles-query").value.trim();
    state.offset = 0;
    load();
  }

  function turnPage(step) {
    state.offset = Math.max(0, state.offset + step * PAGE_SIZE);
    load();
  }

  /* ---------- the editor ---------- */

  async function openSaved(articleId) {
    await attempt(async () => {
      const article = await api(`/api/manager/articles/${encodeURIComponent(articleId)}`);
      open(article, article.id);
    });
  }

  /** Shows the form filled from `article` (any of its fields); `id` is set when editing. */
  function open(article, id = null, fromDraft = false) {
    state.editing = id;
    state.fromDraft = fromDraft;
    clearProblems();
    $("article-question").value = article.question ?? "";
    $("article-lang").value = LANGUAGES.includes(article.lang) ? article.lang : I18n.language;
    $("article-id").value = id ?? "";
    $("article-id").disabled = id !== null;
    $("article-group").value = article.group ?? "";
    $("article-phrasings").value = (article.phrasings ?? []).join("\n");
    $("article-answer").value = article.answer ?? "";
    $("article-sms-answer").value = article.sms_answer ?? "";
    $("article-tags").value = (article.tags ?? []).join(", ");
    $("article-published").checked = article.published ?? true;
    renderHeading();
    $("article-form").hidden = false;
    $("article-form").scrollIntoView({ block: "start" });
    $("article-question").focus({ preventScroll: true });
  }

  function close() {
    state.editing = null;
    state.fromDraft = false;
    $("article-form").reset();
    $("article-form").hidden = true;
    clearProblems();
  }

  function renderHeading() {
    $("article-form-heading").textContent = t(state.editing ? "articles.editHeading" : "articles.newHeading");
    $("article-draft-note").hidden = !state.fromDraft;
  }

  const lines = (text) => text.split("\n").map((line) => line.trim()).filter(Boolean);
  const commaList = (text) => text.split(",").map((item) => item.trim()).filter(Boolean);

  function formBody() {
    const optional = (id) => $(id).value.trim() || null;
    const body = {
      question: $("article-question").value.trim(),
      lang: $("article-lang").value,
      phrasings: lines($("article-phrasings").value),
      answer: $("article-answer").value.trim(),
      sms_answer: optional("article-sms-answer"),
      tags: commaList($("article-tags").value),
      published: $("article-published").checked,
    };
    const group = optional("article-group");
    if (group) body.group = group;
    const id = optional("article-id");
    if (!state.editing && id) body.id = id;
    return body;
  }

  async function save(event) {
    event.preventDefault();
    clearProblems();
    clearError();
    const editing = state.editing;
    const path = editing ? `/api/manager/articles/${encodeURIComponent(editing)}` : "/api/manager/articles";
    try {
      await api(path, { method: editing ? "PUT" : "POST", body: formBody() });
    } catch (error) {
      showProblems(error);
      return;
    }
    if (state.fromDraft) forgetDraft();
    close();
    state.offset = 0;
    await Promise.all([load(), hooks.saved()]);
  }

  /* ---------- problems the server found ---------- */

  function showProblems(error) {
    if (error.status === 401) return hooks.report(error);
    if (error.status === 409) return showProblem("id", t("articles.error.exists"));
    const detail = Array.isArray(error.detail) && error.status === 422 ? error.detail : null;
    if (!detail) return showFormError(error.message);
    const elsewhere = [];
    for (const item of detail) {
      const [, field, line] = Array.isArray(item.loc) ? item.loc : [];
      if (FIELDS.includes(field)) showProblem(field, describe(item, line));
      else elsewhere.push(item.msg);
    }
    if (elsewhere.length) showFormError(elsewhere.join("; "));
    const first = document.querySelector("#article-form [aria-invalid='true']");
    if (first) first.focus();
  }

  /** The problem in the manager's language where its kind is known, else the server's words. */
  function describe(item, line) {
    const key = PROBLEMS[item.type];
    const text = key ? t(key, { limit: item.limit ?? "" }) : String(item.msg ?? "");
    return Number.isInteger(line) ? t("articles.error.line", { line: line + 1, problem: text }) : text;
  }

  function showProblem(field, text) {
    const message = document.querySelector(`[data-error-for="${field}"]`);
    message.textContent = text;
    message.hidden = false;
    document.querySelector(`#article-form [data-field="${field}"]`).setAttribute("aria-invalid", "true");
  }

  function showFormError(text) {
    $("article-form-error").textContent = text;
    $("article-form-error").hidden = false;
  }

  function clearProblems() {
    for (const message of document.querySelectorAll("#article-form [data-error-for]")) {
      message.textContent = "";
      message.hidden = true;
    }
    for (const input of document.querySelectorAll("#article-form [aria-invalid]")) input.removeAttribute("aria-invalid");
    $("article-form-error").hidden = true;
  }

  /* ---------- a draft from the knowledge-base gaps page ---------- */

  const text = (value, limit) => (typeof value === "string" ? value.slice(0, limit) : "");

  /** The draft in the page's URL, reduced to the fields an editor takes, or null. */
  function draftFromUrl() {
    const raw = new URLSearchParams(window.location.search).get("draft");
    if (!raw) return null;
    let draft;
    try {
      draft = JSON.parse(raw);
    } catch {
      return null;
    }
    if (!draft || typeof draft !== "object" || Array.isArray(draft)) return null;
    const phrasings = Array.isArray(draft.phrasings) ? draft.phrasings : [];
    return {
      question: text(draft.question, LIMITS.question),
      lang: LANGUAGES.includes(draft.lang) ? draft.lang : undefined,
      phrasings: phrasings
        .slice(0, LIMITS.phrasings)
        .map((phrasing) => text(phrasing, LIMITS.phrasing).replace(/\s+/g, " ").trim())
        .filter(Boolean),
    };
  }

  /** Once the article is saved, a reload must not open the same draft again. */
  function forgetDraft() {
    const url = new URL(window.location.href);
    url.searchParams.delete("draft");
    window.history.replaceState(null, "", url);
  }

  /* ---------- start ---------- */

  async function attempt(action) {
    try {
      await action();
    } catch (error) {
      hooks.report(error);
    }
  }

  let hooks = { report: (error) => showError(error.message), saved: async () => {} };

  /** `report`: how the page shows a failed request (signed out, or the banner); `saved`: what
   * else it refreshes once an article is saved. */
  async function start(pageHooks) {
    hooks = pageHooks;
    $("articles-search").addEventListener("submit", search);
    $("articles-previous").addEventListener("click", () => turnPage(-1));
    $("articles-next").addEventListener("click", () => turnPage(1));
    $("article-new").addEventListener("click", () => open({}));
    $("article-form").addEventListener("submit", save);
    $("article-cancel").addEventListener("click", close);
    const draft = draftFromUrl();
    if (draft) open(draft, null, true);
    await load();
  }

  function rerender() {
    renderHeading();
    renderList();
  }

  return { start, rerender };
})();
