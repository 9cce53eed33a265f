/* Links that carry a secret (an enrolment QR, an invitation, the hall's check-in QR) carry it in
   the URL's fragment (#t=…), which the browser never sends to a server or a proxy, so that no
   access log holds it (docs/operations.md, "Tokens in links"). This reads the fragment into the
   page's form (each input names its key in data-fragment), removes it from the address bar and
   the history, and submits the form when it says data-token-submit: the token reaches the
   server in a POST body only. Without script the member types or pastes it. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-token-link]");
  if (!form || window.location.hash.length < 2) { return; }
  var values = new URLSearchParams(window.location.hash.slice(1));
  history.replaceState(null, "", window.location.pathname + window.location.search);
  var filled = false;
  Array.prototype.forEach.call(form.querySelectorAll("[data-fragment]"), function (input) {
    var value = values.get(input.getAttribute("data-fragment"));
    if (value) { input.value = value; filled = true; }
  });
  if (filled && form.hasAttribute("data-token-submit")) { form.submit(); }
}());
