// kmm: small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("click", (event) => {
  const dismiss = event.target.closest("[data-dismiss]");
  if (dismiss) dismiss.closest(".toast")?.remove();

  // Remove a repeating row; the formset skips rows that are absent.
  const remove = event.target.closest("[data-remove-row]");
  if (remove) {
    const row = remove.closest("[data-row]");
    const focusTarget = row?.closest(".rows")?.querySelector("button[hx-get]");
    row?.remove();
    focusTarget?.focus();
  }

  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    navigator.clipboard?.writeText(source.textContent).then(() => {
      copy.textContent = "Copied";
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    });
  }
});

// The namespace switcher and the list's filters apply on change (their buttons stay for
// keyboard and no-JS use).
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-autosubmit]")
    || (event.target.matches("[data-autosubmit-field]") ? event.target.form : null);
  if (form) form.requestSubmit();
});

// Keyboard: "/" jumps to the search field; in the model table, ArrowDown/ArrowUp move
// between the rows' name links (one Tab reaches the table, arrows walk it).
document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target.closest("input, textarea, select, [contenteditable]");
  if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
    const search = document.getElementById("searchbar");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
    return;
  }
  if ((event.key === "ArrowDown" || event.key === "ArrowUp") && target.matches("a.row-link")) {
    const links = [...document.querySelectorAll("#model-table a.row-link")];
    const next = links[links.indexOf(target) + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }
});

// Polls send If-None-Match; a 304 means "nothing changed": keep the page as it is.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 304) event.detail.shouldSwap = false;
});

// Toasts fade after a while unless they report an error.
document.addEventListener("htmx:load", (event) => {
  event.detail.elt.querySelectorAll?.(".toast:not(.toast-error)").forEach((toast) => {
    setTimeout(() => toast.remove(), 8000);
  });
});

// After a failed save, move focus to the summary so screen readers announce it.
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("error-summary")?.focus();
});

// Warn, as it is typed, when the URL's scheme does not fit the engine: only OLlama pulls
// ollama:// models, and OLlama cannot load hf://, s3://, gs:// or oss:// (pvc:// and oci://
// suit every engine).
function checkUrlAgainstEngine() {
  const warning = document.getElementById("url-engine-warning");
  const url = document.getElementById("id_url");
  const engine = document.getElementById("id_engine");
  if (!warning || !url || !engine) return;
  const scheme = (url.value.match(/^([a-z0-9]+):\/\//) || [])[1];
  let message = "";
  if (scheme && scheme !== "pvc" && scheme !== "oci" && engine.value) {
    if (engine.value === "OLlama" && scheme !== "ollama") {
      message = `OLlama pulls models from an Ollama registry: use an ollama:// URL (or pvc://), or pick VLLM, Infinity or FasterWhisper for ${scheme}:// models.`;
    } else if (engine.value !== "OLlama" && scheme === "ollama") {
      message = `ollama:// URLs are served by the OLlama engine, not ${engine.value}.`;
    }
  }
  warning.textContent = message;
  warning.hidden = !message;
}
document.addEventListener("input", (event) => {
  if (event.target.matches("#id_url, #id_engine")) checkUrlAgainstEngine();
});
document.addEventListener("change", (event) => {
  if (event.target.matches("#id_engine")) checkUrlAgainstEngine();
});
document.addEventListener("DOMContentLoaded", checkUrlAgainstEngine);
