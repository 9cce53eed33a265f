/* The meeting page's live list of refused cloud attempts: refreshed every 5 seconds. */
(function () {
  "use strict";
  var box = document.getElementById("cloud-audit");
  var list = document.getElementById("cloud-events");
  if (!box || !list) { return; }
  setInterval(function () {
    fetch(box.dataset.feed, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        list.textContent = "";
        (data.events || []).forEach(function (e) {
          var li = document.createElement("li");
          li.textContent = e.at + " " + (e.person || "?") + " · " + e.rule + " · " + e.message;
          list.appendChild(li);
        });
        if (!data.events || !data.events.length) {
          var none = document.createElement("li");
          none.className = "muted"; none.textContent = list.dataset.empty;
          list.appendChild(none);
        }
      }, function () { /* offline: keep the list */ });
  }, 5000);
}());
