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
  // Each text of the composer (the main one, each translation) has its own buttons.
  const control = target.closest("[data-insert], [data-text]");
  const area = document.getElementById(control?.getAttribute("data-for") || "template");
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
// The composer's "start from a saved message": the text and type of the chosen one.
document.addEventListener("change", (event) => {
  const select = event.target instanceof HTMLSelectElement ? event.target : null;
  if (!select || !select.hasAttribute("data-library")) return;
  const option = select.selectedOptions[0];
  const area = document.getElementById("template");
  if (!option || !option.value || !area) return;
  area.value = option.getAttribute("data-text") || "";
  const type = option.getAttribute("data-type");
  const radio = type && select.form ? select.form.querySelector(`input[name="type"][value="${type}"]`) : null;
  if (radio) radio.checked = true;
  area.dispatchEvent(new Event("input", { bubbles: true }));
});
// The contacts import: the upload's progress on the bar next to the file.
document.addEventListener("htmx:xhr:progress", (event) => {
  const bar = document.getElementById("upload-progress");
  const detail = event.detail;
  if (!bar || !detail || !detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((detail.loaded / detail.total) * 100);
});
