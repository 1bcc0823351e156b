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

// The viewer's time zone: the server shows times in the zone this cookie names
// (integrations/viewer_zone.py) unless the person chose one under Preferences. Set from the
// browser once, and the page shown again in it; a zone box marked data-browser-zone on a new
// object (a digest's) starts at the browser's zone rather than the hub's.
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) {
    return;
  }
  const current = document.cookie.split("; ").find((c) => c.startsWith("hub_tz="));
  if (current !== `hub_tz=${encodeURIComponent(zone)}`) {
    document.cookie = `hub_tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; SameSite=Lax`;
    if (!current && document.querySelector("time[data-hub-when]")) {
      window.location.reload();
    }
  }
  document.addEventListener("DOMContentLoaded", () => {
    for (const box of document.querySelectorAll("input[data-browser-zone]")) {
      if (box.value === box.defaultValue) {
        box.value = zone;
      }
    }
  });
})();

// A recipient's form shows the boxes its kind uses, with that kind's words: the URL box is
// the webhook URL, the server, or optional (the public API by default); the secret box is
// there only for kinds that take one (integrations/admin/recipients.py, kind_fields()).
document.addEventListener("DOMContentLoaded", () => {
  const kind = document.querySelector("select[data-kind-fields]");
  if (!kind) {
    return;
  }
  const kinds = JSON.parse(kind.dataset.kindFields);
  const row = (name) => document.querySelector(`.form-row.field-${name}`);
  const show = () => {
    const chosen = kinds[kind.value];
    if (!chosen) {
      return;
    }
    const url = document.querySelector("label[for=id_webhook_url]");
    const urlBox = document.getElementById("id_webhook_url");
    if (url) {
      url.textContent = `${chosen.url}:`;
      url.classList.toggle("required", chosen.url_required);
    }
    if (urlBox) {
      urlBox.placeholder = chosen.url_default ? `empty: ${chosen.url_default}` : "";
    }
    for (const name of ["secret", "clear_secret"]) {
      const box = row(name);
      if (box) {
        box.hidden = !chosen.secret;
      }
    }
    const secret = document.querySelector("label[for=id_secret]");
    if (secret && chosen.secret) {
      secret.textContent = `${chosen.secret}:`;
    }
    const options = row("options");
    if (options) {
      options.hidden = chosen.options.length === 0;
    }
  };
  kind.addEventListener("change", show);
  show();
});

// A new digest's inputs are one box per variable of its app (integrations/admin/digests.py),
// known only once the app is: choosing it shows the page again with ?app=, carrying what was
// already typed (the admin takes initial values from the query string).
document.addEventListener("DOMContentLoaded", () => {
  const app = document.querySelector("body.model-digest.change-form select#id_app");
  if (!app || !window.location.pathname.endsWith("/add/")) {
    return;
  }
  app.addEventListener("change", () => {
    const query = new URLSearchParams(window.location.search);
    const form = app.form;
    for (const box of form.querySelectorAll("input[type=text], input[type=number], textarea")) {
      if (box.name && box.value && !box.name.startsWith("var_")) {
        query.set(box.name, box.value);
      }
    }
    const enabled = form.querySelector("input[name=enabled]");
    if (enabled && !enabled.checked) {
      query.set("enabled", "");
    }
    const recipients = form.querySelector("select[name=recipients]");
    if (recipients) {
      const chosen = [...recipients.options].filter((o) => o.selected).map((o) => o.value);
      if (chosen.length) {
        query.set("recipients", chosen.join(","));
      }
    }
    query.set("app", app.value);
    window.location.search = query.toString();
  });
});
