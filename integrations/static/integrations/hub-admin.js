"use strict";
// What the admin's markup once did in onclick="…" attributes, which the
// Content-Security-Policy (hub/security.py) refuses to run:
// - data-confirm="question" on a button: ask first, and do nothing unless confirmed;
// - data-select-on-click on a read-only box (a webhook URL, a token shown once): a click
//   selects its text, ready to copy.
document.addEventListener("click", (event) => {
  const asking = event.target.closest("[data-confirm]");
  if (asking && !window.confirm(asking.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  const box = event.target.closest("[data-select-on-click]");
  if (box) {
    box.select();
  }
});
