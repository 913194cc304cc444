// A page waiting for a payment: asks its status.json every few seconds and reloads the
// page once the status changes (the page says the same after a manual reload).
"use strict";
(function () {
  var el = document.querySelector("[data-poll]");
  if (!el || !window.fetch) { return; }
  var url = el.dataset.poll, was = el.dataset.status, tries = 0;
  function ask() {
    tries += 1;
    if (tries > 150) { return; }
    window.fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer) { return; }
        if (answer.status !== was) { window.location.reload(); return; }
        window.setTimeout(ask, 2000);
      })
      .catch(function () { window.setTimeout(ask, 4000); });
  }
  window.setTimeout(ask, 1000);
}());
