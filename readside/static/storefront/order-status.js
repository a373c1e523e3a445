// The order status page keeps itself up to date: it polls the order's status.json and shows what
// it says, until the order is settled. A file of its own, never inline: the site's Content
// Security Policy forbids inline scripts. Without JavaScript the page's Reload link does the job.
(function () {
  "use strict";

  var POLL_EVERY_MS = 1500;
  var GIVE_UP_AFTER_MS = 10 * 60 * 1000; // an order still unknown by then needs a person, not a poll
  var FIELDS = ["headline", "customer_name", "status", "payment_status", "shipment_status", "carrier", "tracking_number", "total"];

  var root = document.querySelector("[data-order-status]");
  if (!root || root.dataset.settled === "true") {
    return;
  }
  var url = root.dataset.statusUrl;
  var startedAt = Date.now();

  function field(name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    td.textContent = text; // text, never HTML: names and SKUs are shown as written
    return td;
  }

  function showLines(lines) {
    var body = field("lines");
    var rows = lines.map(function (line) {
      var tr = document.createElement("tr");
      var sku = document.createElement("code");
      sku.textContent = line.sku;
      var skuCell = cell("");
      skuCell.appendChild(sku);
      tr.append(skuCell, cell(String(line.quantity), "num"), cell(line.unit_price, "num"), cell(line.amount, "num"));
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function show(state) {
    FIELDS.forEach(function (name) {
      field(name).textContent = state[name];
    });
    showLines(state.lines);
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
        show(state);
        if (state.settled) {
          root.dataset.settled = "true";
          field("updates").textContent = "This order is settled.";
          return;
        }
        field("updates").textContent = "This page updates by itself.";
        next();
      })
      .catch(function (error) {
        field("updates").textContent = "Could not check for updates (" + error.message + "); trying again.";
        next();
      });
  }

  function next() {
    if (Date.now() - startedAt > GIVE_UP_AFTER_MS) {
      field("updates").textContent = "Stopped checking for updates: reload the page to check again.";
      return;
    }
    window.setTimeout(poll, POLL_EVERY_MS);
  }

  field("updates").textContent = "This page updates by itself.";
  next();
})();
