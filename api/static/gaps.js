// The knowledge-base gaps (/console/gaps), coded against docs/dashboard.md: the questions the
// base failed in a range of days, grouped by meaning, each group with its examples, the
// articles wrongly offered for it and a link that opens the manager page's article editor
// prefilled with the group's draft. The examples are customers' own words: they only ever
// reach the page as text (textContent).
"use strict";

const KINDS = ["fallback", "did_not_help", "escalated"];
const state = { result: null, loads: 0 };

/** The manager page's article editor, prefilled: it reads `draft` (JSON) from its URL. */
const draftLink = (draft) => `/console/manager?draft=${encodeURIComponent(JSON.stringify(draft))}`;

function gapCard(gap) {
  const kinds = KINDS.filter((kind) => gap.kinds[kind]).map((kind) =>
    h("span", { className: `badge gap-kind gap-${kind}`, text: t(`gaps.kind.${kind}`, { count: gap.kinds[kind] }) }),
  );
  return h("li", { className: "panel gap", testid: "gap" }, [
    h("h2", { text: t("gaps.quote", { text: gap.examples[0] }) }),
    h("p", { className: "row gap-meta" }, [
      h("strong", { testid: "gap-count", text: t("gaps.count", { count: gap.count }) }),
      ...kinds,
      h("span", { className: "muted", text: t(`lang.${gap.language}`) }),
    ]),
    h("h3", { text: t("gaps.examples") }),
    h("ul", { className: "gap-examples", testid: "gap-examples" }, gap.examples.map((text) => h("li", { text }))),
    h("h3", { text: t("gaps.offered") }),
    gap.offered.length
      ? h("ul", { className: "gap-offered", testid: "gap-offered" }, gap.offered.map(offeredArticle))
      : h("p", { className: "muted", text: t("gaps.offeredNone") }),
    h("a", { className: "button-link", href: draftLink(gap.draft), testid: "create-article", text: t("gaps.create") }),
  ]);
}

function offeredArticle(offered) {
  const link = h("a", {
    href: `/help/${encodeURIComponent(offered.article_id)}`,
    target: "_blank",
    rel: "noopener",
    text: offered.question ?? offered.article_id,
  });
  return h("li", {}, [link, " ", h("span", { className: "muted", text: t("gaps.times", { count: offered.times }) })]);
}

function render() {
  if (!state.result) return;
  const { gaps, window } = state.result;
  showRange(window, $("range-note"), "range.questions");
  $("gaps-status").textContent = gaps.length ? t("gaps.found", { count: gaps.length }) : t("gaps.none");
  $("gap-list").replaceChildren(...gaps.map(gapCard));
}

async function load() {
  clearError();
  const ticket = ++state.loads;
  $("gaps-status").textContent = t("gaps.loading");
  $("gap-list").setAttribute("aria-busy", "true");
  try {
    const result = await api(`/api/manager/gaps?${rangeQuery()}`);
    if (ticket !== state.loads) return;
    state.result = result;
    render();
  } catch (error) {
    if (ticket === state.loads) {
      $("gaps-status").textContent = "";
      reportError(error);
    }
  } finally {
    if (ticket === state.loads) $("gap-list").removeAttribute("aria-busy");
  }
}

async function start() {
  if (await signedInManager()) await load();
}

$("range-slot").replaceWith(rangeControls(load));
I18n.apply();
I18n.bindSwitch($("lang-switch"));
I18n.onChange(render);
$("error-dismiss").addEventListener("click", clearError);
start();
