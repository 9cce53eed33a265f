/* The meeting room updates itself (docs/assembly.md, "The room page updates by itself"): every
   few seconds it asks stamp.json whether anything changed; when the stamp changes it fetches the
   room page again and swaps the regions marked data-live="<name>" — never one holding the focus
   of a form field or a form with something typed, chosen or ticked that was not sent (that
   region is swapped once the user is done). The scroll position and the open <details> are
   kept. A page that answers a form (a refusal keeping what was typed) is not swapped: it offers a
   link to the fresh page. Slower when the tab is hidden; a small status line
   (aria-live) says when it updated or that the connection is lost. */
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  if (!status || !window.fetch || !window.DOMParser) { return; }
  var VISIBLE = 3000, HIDDEN = 30000, LONGEST = 30000;
  var stamp = status.getAttribute("data-stamp");
  var answer = status.hasAttribute("data-answer");
  var behind = [];  // regions that could not be swapped yet (in use): try again once free
  var failures = 0;
  var timer = null;
  var busy = false;

  // Forms with something changed and not sent.
  function markDirty(event) {
    var form = event.target && event.target.form;
    if (form) { form.setAttribute("data-live-dirty", ""); }
  }
  document.addEventListener("input", markDirty, true);
  document.addEventListener("change", markDirty, true);

  function inUse(region) {
    if (region.querySelector("form[data-live-dirty]")) { return true; }
    var active = document.activeElement;
    if (!active || active === document.body || !region.contains(active)) { return false; }
    return Boolean(active.closest("form") || /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock() {
    var d = new Date();
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }
  function say(text, lost) {
    status.textContent = text;
    status.classList.toggle("live-lost", Boolean(lost));
  }

  // the same but for the forms' CSRF tokens (signed afresh with each page) and what the user
  // did here (a form marked changed, a <details> opened)
  function bare(region) {
    return region.innerHTML.replace(/(name="csrf_token"[^>]*value=")[^"]*"/g, '$1"')
      .replace(/ data-live-dirty=""/g, "").replace(/(<details[^>]*) open=""/g, "$1");
  }
  function same(a, b) { return bare(a) === bare(b); }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    if (!fresh.getElementById("live-status")) { throw new Error("not the room page"); }
    var x = window.scrollX, y = window.scrollY;
    var waiting = [];
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (old) {
      var name = old.getAttribute("data-live");
      var next = fresh.querySelector('[data-live="' + name + '"]');
      if (!next) { return; }
      if (same(old, next)) { return; }
      if (inUse(old)) { waiting.push(name); return; }
      // keep the <details> the user opened (same place, same summary)
      var before = old.querySelectorAll("details");
      var after = next.querySelectorAll("details");
      if (before.length === after.length) {
        Array.prototype.forEach.call(before, function (d, i) {
          var s1 = d.querySelector("summary"), s2 = after[i].querySelector("summary");
          if (d.open && s1 && s2 && s1.textContent === s2.textContent) { after[i].open = true; }
        });
      }
      old.replaceWith(document.adoptNode(next));
    });
    window.scrollTo(x, y);
    return waiting;
  }

  function schedule() {
    clearTimeout(timer);
    var wait = document.hidden ? HIDDEN : VISIBLE;
    if (failures) { wait = Math.min(LONGEST, wait * Math.pow(2, failures)); }
    timer = setTimeout(tick, wait);
  }

  function fail() {
    failures += 1;
    say(status.getAttribute("data-lost") + " " + clock(), true);
  }

  function tick() {
    if (busy) { return schedule(); }
    busy = true;
    fetch(status.getAttribute("data-stamp-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        failures = 0;
        var free = behind.some(function (name) {
          var region = document.querySelector('[data-live="' + name + '"]');
          return region && !inUse(region);
        });
        if (data.stamp === stamp && !free) {
          if (status.classList.contains("live-lost")) { say(""); }
          return null;
        }
        if (answer) {
          // this page answers a form (a refusal with what was typed): keep it as it
          // is and offer the fresh page instead
          say(status.getAttribute("data-changed") + " " + clock() + " ");
          var link = document.createElement("a");
          link.href = status.getAttribute("data-page-url");
          link.textContent = status.getAttribute("data-reload");
          status.appendChild(link);
          stamp = data.stamp;
          return null;
        }
        // the room's own address: this page may be the answer to a form sent (…/vote-1)
        return fetch(status.getAttribute("data-page-url") + window.location.search, {
          credentials: "same-origin", cache: "no-store", headers: { "X-SunVote-Live": "1" }
        }).then(function (r) {
          if (!r.ok) { throw new Error(r.status); }
          return r.text();
        }).then(function (html) {
          behind = swap(html);
          stamp = data.stamp;
          say(status.getAttribute(behind.length ? "data-waiting" : "data-updated") + " " + clock());
        });
      })
      .catch(fail)
      .then(function () { busy = false; schedule(); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { clearTimeout(timer); tick(); } else { schedule(); }
  });
  // a form sent: its page comes back from the server, nothing to swap meanwhile
  document.addEventListener("submit", function () { clearTimeout(timer); busy = true; }, true);
  schedule();
}());
