/* The hall screen: every 3 seconds fetch this page again and swap its <main> (the server renders
   it: one template, whatever the state); keep the last good view when the network drops, and
   mark the time red. No choices are ever on the page while a poll is open. */
(function () {
  "use strict";
  var body = document.body;
  if (!window.fetch || !window.DOMParser) { return; }

  function refresh() {
    fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin", cache: "no-store", headers: { "X-SunVote-Live": "1" }
    }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      var main = fresh.getElementById("hall-main");
      var updated = fresh.getElementById("updated");
      if (!main || !updated) { throw new Error("not the hall screen"); }
      document.getElementById("hall-main").replaceWith(document.adoptNode(main));
      document.getElementById("updated").textContent = updated.textContent;
      body.classList.remove("stale");
    }).catch(function () { body.classList.add("stale"); });
  }
  setInterval(refresh, 3000);
}());
