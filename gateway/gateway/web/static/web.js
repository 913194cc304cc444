// The web office's only script (progressive: every page works without it).
// A form whose button was pressed once is not sent twice by a second click.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent === "1") { event.preventDefault(); return; }
  form.dataset.sent = "1";
  window.setTimeout(function () { form.dataset.sent = ""; }, 5000);
});
