/* The recording page while the meeting runs (issue 19): every 10 seconds fetch the page again
   and swap the facts, gaps and chunk list (the player keeps playing); when the player reaches
   the end of what had arrived, load the run again from the server (the recording so far). */
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser) { return; }
  var ids = ["recording-chunk-table"];
  function refresh() {
    fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var facts = fresh.querySelector(".recording-facts");
        var old = document.querySelector(".recording-facts");
        if (facts && old) { old.replaceWith(document.adoptNode(facts)); }
        ids.forEach(function (id) {
          var node = fresh.getElementById(id);
          var here = document.getElementById(id);
          if (node && here) { here.replaceWith(document.adoptNode(node)); }
        });
        var status = fresh.getElementById("recording-status");
        if (!status || status.getAttribute("data-live") !== "yes") { window.location.reload(); }
      }).catch(function () {});
  }
  setInterval(refresh, 10000);
  var players = document.querySelectorAll(".recording-player");
  var last = players[players.length - 1];
  if (last) {
    last.addEventListener("ended", function () {
      var src = last.getAttribute("src").split("?")[0];
      last.setAttribute("src", src + "?t=" + Date.now());
      last.play().catch(function () {});
    });
  }
}());
