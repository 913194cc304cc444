// The quote form: the price and the daily quota follow what one types (the form's own
// submit gives the same answer without JavaScript). Asks /web/plans/quote.json, our origin.
"use strict";
(function () {
  var form = document.getElementById("quote-form");
  var out = document.getElementById("quote");
  if (!form || !out || !window.fetch) { return; }
  var timer = null;
  var asked = 0;
  function euros(cents) { return (cents / 100).toFixed(2) + " €"; }
  function row(list, label, value, id) {
    var dt = document.createElement("dt"); dt.textContent = label;
    var dd = document.createElement("dd"); dd.textContent = value; dd.id = id;
    list.appendChild(dt); list.appendChild(dd);
  }
  function show(answer) {
    out.textContent = "";
    if (answer.quote) {
      var q = answer.quote, list = document.createElement("dl");
      var labels = out.dataset;
      var kind = form.elements.kind;
      if (kind && kind.selectedIndex >= 0) {
        row(list, labels.kind || "Office kind", kind.options[kind.selectedIndex].text, "quote-kind");
      }
      row(list, labels.total || "Price", euros(q.total_cents), "quote-total");
      row(list, labels.unit || "Per lead", euros(q.unit_price_cents), "quote-unit");
      row(list, labels.daily || "Daily quota", String(q.daily_quota), "quote-daily");
      row(list, labels.days || "Days", String(q.days), "quote-days");
      out.appendChild(list);
      // the buy form buys what is quoted: its hidden fields follow the live quote
      var buy = document.getElementById("buy-form");
      ["records", "tier", "country", "kind"].forEach(function (name) {
        if (buy && buy.elements[name] && q[name] !== undefined) { buy.elements[name].value = q[name]; }
      });
    } else {
      var p = document.createElement("p");
      p.className = "field-error"; p.id = "quote-error";
      p.textContent = answer.error || "";
      out.appendChild(p);
    }
  }
  function ask() {
    var records = form.elements.records.value;
    if (!records) { return; }
    var params = new URLSearchParams({records: records, tier: form.elements.tier.value,
                                      country: form.elements.country.value});
    if (form.elements.kind) { params.set("kind", form.elements.kind.value); }
    var mine = ++asked;
    fetch(form.dataset.quoteUrl + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (answer) { if (mine === asked) { show(answer); } })
      .catch(function () { /* the submit button still works */ });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 250);
  });
})();
