// Behaviour every page shares, kept out of the HTML so that the Content-Security-Policy can
// forbid inline script: a button with data-confirm asks before it submits; one with data-print
// prints the page.
"use strict";
document.addEventListener("click", function (event) {
  var target = event.target instanceof Element ? event.target : null;
  if (!target) { return; }
  var asking = target.closest("[data-confirm]");
  if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
    event.preventDefault();
    return;
  }
  if (target.closest("[data-print]")) {
    event.preventDefault();
    window.print();
  }
});

// On a phone a table's rows are shown as blocks and its header is hidden (sunvote.css): give
// each cell its column's name, unless the template already did. Tables that arrive later (a
// region of a page that refreshes itself) are labelled too.
function labelTables(root) {
  root.querySelectorAll("table.table").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) { return; }
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && heads[i]) {
          cell.setAttribute("data-label", heads[i].textContent.trim());
        }
      });
    });
  });
}
document.addEventListener("DOMContentLoaded", function () {
  labelTables(document);
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) {
        if (node instanceof Element) { labelTables(node.parentElement || node); }
      });
    });
  }).observe(document.body, { childList: true, subtree: true });
});
