// The page builder's behaviours: drag to reorder (SortableJS, posted as the new order),
// the focus kept on a move button after a keyboard move, merge fields inserted at the
// cursor, the contact picker, and the phone preview reloaded after each saved change.
// Loaded as a file (the UI's CSP has no inline script).
"use strict";
(() => {
  // SortableJS leaves style attributes on the blocks; htmx would copy them onto the new
  // workspace with setAttribute, which the CSP (style-src 'self') refuses.
  if (window.htmx) htmx.config.attributesToSettle = ["class", "width", "height"];
  // A refused change (the schema's errors next to the fields, a block deleted elsewhere)
  // comes back as the workspace with a 4xx status: show it.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.responseText.includes('id="workspace"')) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  let reloads = 0;
  function reloadPreview() {
    const frame = document.getElementById("preview-frame");
    const contact = document.getElementById("contact");
    if (!frame) return;
    const who = contact ? contact.value : "";
    reloads += 1;
    frame.src = `${frame.dataset.base}?contact_id=${encodeURIComponent(who)}&r=${reloads}`;
  }

  function sortable() {
    const list = document.getElementById("blocks");
    if (!list || !window.Sortable || list.dataset.sortable) return;
    list.dataset.sortable = "1";
    Sortable.create(list, {
      handle: ".handle",
      animation: 150,
      onEnd: (event) => {
        if (event.oldIndex === event.newIndex) return;
        const order = Array.from(list.querySelectorAll(":scope > li[data-block]"))
          .map((li) => li.dataset.block)
          .join(",");
        htmx.ajax("POST", list.dataset.orderUrl, {
          source: list,
          target: "#workspace",
          swap: "outerHTML",
          values: { order },
        });
      },
    });
  }

  function focusMoved() {
    // The swapped workspace's status goes to a live region that stays (announced).
    const announce = document.getElementById("builder-announce");
    const status = document.querySelector("#workspace .ws-status, #workspace .problem");
    if (announce) announce.textContent = status ? status.textContent.trim() : "";
    const moved = document.querySelector("#workspace [data-focus]");
    if (!moved) return;
    let target = moved;
    if (moved.tagName === "DETAILS") {
      target = moved.querySelector("input:not([type=hidden]), textarea, select"); // a new block: its first field
    } else if (moved.disabled) {
      // At the top or bottom the pressed button is disabled: keep the focus on the block.
      target = moved.parentElement.querySelector("button:not([disabled])");
    }
    if (target) target.focus();
  }

  document.addEventListener("DOMContentLoaded", sortable);
  // The workspace is replaced whole (outerHTML): its new element announces itself.
  document.addEventListener("htmx:load", (event) => {
    if (!(event.target instanceof Element) || event.target.id !== "workspace") return;
    sortable();
    setTimeout(focusMoved, 0);
  });
  document.addEventListener("page-changed", reloadPreview);
  document.addEventListener("change", (event) => {
    if (event.target instanceof Element && event.target.id === "contact") reloadPreview();
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    // New options for another audience: show the page as the first of them.
    if (event.target instanceof Element && event.target.id === "contact") reloadPreview();
  });
  document.addEventListener("submit", (event) => {
    // With scripts, the contact picker needs no page load.
    if (event.target instanceof Element && event.target.id === "picker") {
      event.preventDefault();
      reloadPreview();
    }
  });
  // An image file goes as the body itself; the answer is the workspace with its block.
  document.addEventListener("change", async (event) => {
    const input = event.target instanceof HTMLInputElement ? event.target : null;
    if (!input || !input.dataset.upload || !input.files || !input.files[0]) return;
    const file = input.files[0];
    const meta = document.querySelector('meta[name="csrf-token"]');
    const answer = await fetch(input.dataset.upload, {
      method: "POST",
      body: file,
      headers: {
        "Content-Type": file.type || "application/octet-stream",
        "X-CSRF-Token": meta ? meta.content : "",
        "HX-Request": "true",
      },
    });
    const html = await answer.text();
    if (answer.status === 200 || answer.status === 422) {
      htmx.swap("#workspace", html, { swapStyle: "outerHTML" });
      if (answer.status === 200) reloadPreview();
    } else {
      const status = document.querySelector("#workspace .ws-status");
      if (status) status.textContent = html.slice(0, 300);
    }
  });
  // Anything else refused (a block deleted in another tab, a session that expired).
  document.addEventListener("htmx:responseError", (event) => {
    const status = document.querySelector("#workspace .ws-status");
    if (status) status.textContent = `${event.detail.xhr.status}: ${document.documentElement.lang === "fr" ? "rechargez la page" : "reload the page"}`;
  });
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-merge]") : null;
    if (!button) return;
    const field = document.getElementById(button.dataset.for);
    if (!field) return;
    const text = button.dataset.merge;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? field.value.length;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
  });
})();
