/* A cloud voter's receipt page: when the next poll opens for this member, go back to the
   meeting by itself (issue 15). Polls the phone's meeting.json, like the meeting page does. */
(function () {
  "use strict";
  var back = document.getElementById("back-to-meeting");
  if (!back || !back.getAttribute("data-feed") || !window.fetch) { return; }
  var feed = back.getAttribute("data-feed");
  setInterval(function () {
    fetch(feed, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.poll && s.may_vote) { window.location.href = back.href; }
      }, function () { /* offline: stay, try again */ });
  }, 5000);
}());
