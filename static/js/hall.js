/* The hall screen: refresh from hall.json every 3 seconds; keep the last good view when the
   network drops, and say so. No choices are ever sent while a poll is open. */
(function () {
  "use strict";
  var body = document.body;
  var feed = body.getAttribute("data-feed");
  var polls = document.getElementById("polls");
  var text = function (id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } };

  function pollHtml(p) {
    var d = polls.dataset;
    var div = document.createElement("div");
    div.className = "hall-poll " + p.state;
    var title = document.createElement("div");
    title.className = "hall-matter";
    title.textContent = p.matter + " " + p.title;
    div.appendChild(title);
    var main = document.createElement("div");
    if (p.state === "open") {
      main.className = "hall-big";
      main.textContent = d.open + " · " + d.received + " " + p.received;
      div.appendChild(main);
      if (p.cloud) {
        var cloud = document.createElement("div");
        cloud.className = "hall-counts";
        cloud.textContent = d.cloud + " " + p.cloud;
        div.appendChild(cloud);
      }
    } else if (p.state === "void" || p.state === "suspended") {
      main.className = "hall-result rejected";
      main.textContent = p.state === "void" ? d.void : d.suspended;
      div.appendChild(main);
    } else {
      main.className = "hall-result " + p.verdict;
      main.textContent = p.verdict === "passed" ? d.passed : d.rejected;
      div.appendChild(main);
      var counts = document.createElement("div");
      counts.className = "hall-counts";
      counts.textContent = d.yes + " " + p.yes + " · " + d.no + " " + p.no + " · " + d.abstain + " " + p.abstain +
        (p.recused ? " · " + d.recused + " " + p.recused : "") +
        (p.not_voted ? " · " + d.notvoted + " " + p.not_voted : "");
      div.appendChild(counts);
    }
    return div;
  }

  function render(data) {
    text("present", data.present);
    text("members", data.members);
    text("needed", data.needed);
    text("hall-count", data.hall);
    text("cloud-count", data.cloud);
    text("updated", data.updated);
    var q = document.getElementById("quorum-text");
    text("quorum-state", data.quorum_met ? q.dataset.met : q.dataset.short);
    var fill = document.getElementById("quorum-fill");
    fill.style.width = Math.round(100 * data.present / (data.members || 1)) + "%";
    fill.className = "fill" + (data.quorum_met ? " ok" : "");
    document.getElementById("quorum-mark").style.left = Math.round(100 * data.needed / (data.members || 1)) + "%";
    while (polls.firstChild) { polls.removeChild(polls.firstChild); }
    if (!data.polls.length) {
      var none = document.createElement("p");
      none.className = "hall-label";
      none.textContent = polls.dataset.none;
      polls.appendChild(none);
    }
    data.polls.forEach(function (p) { polls.appendChild(pollHtml(p)); });
    var presence = document.getElementById("presence-box");
    if (presence) {
      presence.hidden = !data.presence;
      if (data.presence) {
        var code = document.getElementById("presence-code");
        if (code.textContent !== data.presence.code) {
          // the QR carries the live code: it changes with it (SVG made by the server)
          document.getElementById("checkin-qr").innerHTML = data.presence.qr;
        }
        text("presence-code", data.presence.code);
        text("presence-left", data.presence.seconds_left);
      }
    }
    var list = document.getElementById("attendance");
    if (list && data.attendance) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      data.attendance.forEach(function (a) {
        var li = document.createElement("li");
        li.textContent = a.name;
        [[a.channel === "cloud", list.dataset.cloud, "hall-mark"],
         [a.by_clerk, list.dataset.clerk, "hall-mark clerk"]].forEach(function (m) {
          if (m[0]) {
            var span = document.createElement("span");
            span.className = m[2];
            span.textContent = m[1];
            li.appendChild(document.createTextNode(" "));
            li.appendChild(span);
          }
        });
        list.appendChild(li);
      });
    }
    body.classList.remove("stale");
  }

  function refresh() {
    var request = new XMLHttpRequest();
    request.open("GET", feed, true);
    request.timeout = 5000;
    request.onload = function () {
      if (request.status === 200) {
        try { render(JSON.parse(request.responseText)); } catch (e) { body.classList.add("stale"); }
      } else { body.classList.add("stale"); }
    };
    request.onerror = request.ontimeout = function () { body.classList.add("stale"); };
    request.send();
  }
  setInterval(refresh, 3000);
}());
