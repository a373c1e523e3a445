// The order form says it is working once it is sent, and is not sent twice: a second click, or
// Enter in a field, while the first submission is on its way does nothing. A file of its own,
// never inline: the site's Content Security Policy forbids inline scripts. Without JavaScript the
// form works the same; what makes a second submission place no second order is the form's
// one-time key, on the server.
//
// It also keeps a running total of the lines chosen (the server prices the order again from the
// catalog: this is only what the customer sees while choosing), and moves the focus to the error
// summary of a form shown again with errors, so a screen reader reads them first.
(function () {
  "use strict";

  var WORKING = "Placing your order\u2026";

  var form = document.querySelector("[data-order-form]");
  if (!form) {
    return;
  }
  var button = form.querySelector("[data-place-order]");
  var idleLabel = button.textContent;
  var quantities = Array.prototype.slice.call(form.querySelectorAll("input[data-unit-price]"));
  var runningTotal = form.querySelector("[data-running-total]");

  function cents(price) {
    // "19.90" -> 1990, in whole numbers: no floating-point sums of money.
    var parts = price.split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }

  function money(amount) {
    var rest = String(amount % 100);
    return Math.floor(amount / 100) + "." + (rest.length < 2 ? "0" + rest : rest);
  }

  function showTotal() {
    var byCurrency = {};
    quantities.forEach(function (input) {
      var quantity = Number(input.value);
      if (Number.isInteger(quantity) && quantity > 0) {
        var currency = input.dataset.currency;
        byCurrency[currency] = (byCurrency[currency] || 0) + quantity * cents(input.dataset.unitPrice);
      }
    });
    var currencies = Object.keys(byCurrency).sort();
    runningTotal.querySelector("[data-total]").textContent = currencies.length
      ? currencies.map(function (currency) { return money(byCurrency[currency]) + " " + currency; }).join(" + ")
      : "nothing chosen yet";
  }

  if (runningTotal && quantities.length) {
    quantities.forEach(function (input) {
      input.addEventListener("input", showTotal);
    });
    showTotal();
    runningTotal.hidden = false;
  }

  var summary = document.querySelector("[data-error-summary]");
  if (summary && document.activeElement !== summary) {
    summary.focus();
  }

  function working() {
    form.dataset.submitting = "true";
    form.setAttribute("aria-busy", "true");
    button.setAttribute("aria-busy", "true");
    button.disabled = true; // the submission under way goes on; no other starts
    button.textContent = WORKING;
  }

  function ready() {
    delete form.dataset.submitting;
    form.removeAttribute("aria-busy");
    button.removeAttribute("aria-busy");
    button.disabled = false;
    button.textContent = idleLabel;
  }

  form.addEventListener("submit", function (event) {
    if (form.dataset.submitting === "true") {
      event.preventDefault();
      return;
    }
    working();
  });

  // Back on this page from the next one, the browser may show it as it was left (its back/forward
  // cache): working, with the same key. Sent again, it leads to the same order.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      ready();
    }
  });
})();
