// What the console and the manager page share: the one way to call the API (JSON, the session
// cookie, the CSRF header on every write: docs/agent-console.md), building elements (text only
// ever through textContent) and the error banner.
"use strict";

/** A new element: `text` becomes its text, `testid` its data-testid, and children (elements or
 * strings, which become text nodes) are appended; null, undefined and false are skipped. */
function h(tag, { className, text, testid, ...attributes } = {}, children = []) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = text;
  if (testid) element.dataset.testid = testid;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

/* The error banner: both pages have #error holding #error-text. */

function showError(message) {
  document.getElementById("error-text").textContent = message;
  document.getElementById("error").hidden = false;
}

function clearError() {
  document.getElementById("error").hidden = true;
}

/** `detail`: the server's own detail, for a form that shows each problem at its field. */
class ApiError extends Error {
  /** `retryAfter`: seconds to wait, when the server refused for too many requests (429). */
  constructor(status, message, detail, retryAfter = 0) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

function cookie(name) {
  const prefix = `${name}=`;
  const found = document.cookie.split("; ").find((part) => part.startsWith(prefix));
  return found ? decodeURIComponent(found.slice(prefix.length)) : "";
}

/** FastAPI's `detail`: a sentence, or a list of validation errors. */
function errorDetail(data) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => item.msg)
      .filter(Boolean)
      .join("; ");
  }
  return "";
}

/** JSON request with the session cookie; writes carry the CSRF header. Throws ApiError. */
async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("helpdesk_csrf");
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, I18n.t("error.network"));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = errorDetail(data) || I18n.t("error.status", { status: response.status });
    const retryAfter = Number(response.headers.get("Retry-After")) || 0;
    throw new ApiError(response.status, message, data && data.detail, retryAfter);
  }
  return data;
}
