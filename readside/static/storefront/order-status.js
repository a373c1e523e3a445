// The order status page keeps itself up to date: it polls the order's status.json and shows what
// it says, until nothing more is to come for the order (the JSON's `settled`: declined, cancelled,
// delivered, returned). A paid order is then dispatched and delivered, and the page follows it.
// A file of its own, never inline: the site's Content Security Policy forbids inline scripts.
// Without JavaScript the page's Reload link does the job.
(function () {
  "use strict";

  // Quick while something is happening (a payment is taken in seconds), then calmer: a parcel
  // takes days, and an open tab should not ask every second and a half all that time.
  var QUICK_POLL_MS = 1500;
  var CALM_POLL_MS = 15000;
  var QUICK_FOR_MS = 2 * 60 * 1000; // after the page opened, or after the last change it showed
  var FIELDS = ["headline", "customer_name", "address", "status", "payment_status", "shipment_status", "carrier", "tracking_number", "total", "updates"];

  var root = document.querySelector("[data-order-status]");
  if (!root || root.dataset.settled === "true") {
    return;
  }
  var url = root.dataset.statusUrl;
  var lastChange = Date.now();
  var lastState = "";

  function field(name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function element(tag, text, className) {
    var made = document.createElement(tag);
    if (className) {
      made.className = className;
    }
    made.textContent = text; // text, never HTML: names are shown as written
    return made;
  }

  function showLines(lines) {
    if (!lines.length) {
      return; // the row saying the lines are to come stays
    }
    var body = field("lines");
    var rows = lines.map(function (line) {
      var tr = document.createElement("tr");
      var product = element("td", line.name, "product");
      product.appendChild(element("small", line.unit_price + " each", "each"));
      tr.append(product, element("td", String(line.quantity), "num"), element("td", line.unit_price, "num unit"), element("td", line.amount, "num"));
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function showReturn(state) {
    var note = field("return_note");
    note.textContent = state.return_note;
    note.hidden = !state.return_note;
    var steps = field("return_steps");
    steps.replaceChildren.apply(steps, state.return_steps.map(function (step) {
      var item = element("li", step.label + (step.done ? "" : " (not yet)"), step.done ? "done" : "");
      return item;
    }));
    steps.hidden = state.return_steps.length === 0;
  }

  function showNextStep(state) {
    root.querySelectorAll("[data-next]").forEach(function (block) {
      block.hidden = block.dataset.next !== state.next_step;
    });
    var retry = root.querySelector('[data-href="retry_url"]');
    if (retry && state.retry_url) {
      retry.href = state.retry_url;
    }
  }

  function show(state) {
    FIELDS.forEach(function (name) {
      field(name).textContent = state[name];
    });
    showLines(state.lines);
    showReturn(state);
    showNextStep(state);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        var seen = JSON.stringify(state);
        if (seen !== lastState) {
          lastState = seen;
          lastChange = Date.now();
          show(state);
        }
        if (state.settled) {
          root.dataset.settled = "true";
          return;
        }
        next();
      })
      .catch(function (error) {
        field("updates").textContent = "Could not check for news of the order (" + error.message + "); trying again.";
        next();
      });
  }

  function next() {
    window.setTimeout(poll, Date.now() - lastChange < QUICK_FOR_MS ? QUICK_POLL_MS : CALM_POLL_MS);
  }

  next();
})();
