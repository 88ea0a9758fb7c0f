// The UI's small behaviours: the CSRF header on htmx requests, inserting a merge field
// at the cursor, and accepting GSM-7 suggestions. No inline script anywhere.
"use strict";
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
});
document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  const area = document.getElementById("template");
  const insert = target.closest("[data-insert]");
  if (insert && area) {
    const text = insert.getAttribute("data-insert");
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? area.value.length;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.focus();
    area.selectionStart = area.selectionEnd = start + text.length;
    area.dispatchEvent(new Event("input", { bubbles: true }));
    return;
  }
  const accept = target.closest("[data-text]");
  if (accept && area) {
    area.value = accept.getAttribute("data-text");
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  }
});
