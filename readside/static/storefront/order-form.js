// The order form says it is working once it is sent, and is not sent twice: a second click, or
// Enter in a field, while the first submission is on its way does nothing. A file of its own,
// never inline: the site's Content Security Policy forbids inline scripts. Without JavaScript the
// form works the same; what makes a second submission place no second order is the form's
// one-time key, on the server.
(function () {
  "use strict";

  var WORKING = "Placing your order\u2026";

  var form = document.querySelector("[data-order-form]");
  if (!form) {
    return;
  }
  var button = form.querySelector("[data-place-order]");
  var idleLabel = button.textContent;

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
