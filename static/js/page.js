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
