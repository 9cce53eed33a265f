/* The hall, live, on the recording page (docs/video.md "Watchers"): through Janus, for the
   supervisory committee and the township while the meeting runs. One receive-only connection
   to the hall's feed, and nothing else; it never publishes. Every 2 s ask watch.json (the rule,
   the keepalive of the watcher's Janus session, the hall's current publication); subscribe
   (Janus's offer) and start (our answer) when the hall publishes, again when it publishes anew
   or the connection fails. A refusal (403, 409 of the rule) stops the page's live view. */
(function () {
  "use strict";
  var box = document.getElementById("watch-live");
  if (!box || !window.fetch || !window.RTCPeerConnection) { return; }
  var d = box.dataset, video = document.getElementById("watch-live-video");
  var status = document.getElementById("watch-live-status");
  var sound = document.getElementById("watch-live-sound");
  var GATHER = 2000, POLL = 2000;
  var pc = null, generation = null, busy = false, stopped = false, rtc = null;
  var sid = randomId();  /* this page's own id: two tabs of one person are two watchers */
  var api = window.sunvoteWatch = { pc: null, subscriptions: 0 };

  function randomId() {
    var bytes = crypto.getRandomValues(new Uint8Array(12)), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function say(text, cls) { status.textContent = text; status.className = cls || "muted"; }
  function message(body) {
    var e = body && body.error;
    return (e && e.message) || "";
  }
  function stop(text) {
    stopped = true; close(); say(text, "bad"); box.classList.add("refused");
  }
  function close() {
    if (pc) { pc.close(); pc = null; api.pc = null; }
    generation = null;
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": d.csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); });
  }
  /* 200: the body; 503 (Janus down): said, tried again later; 403 or a 409 of the rule: stop;
     409 "gone": the hall stopped publishing, the next poll says so. */
  function answer(res) {
    if (res.status === 200) { return res.body; }
    if (res.status === 403 || (res.status === 409 && !(res.body && res.body.gone))) { stop(message(res.body)); }
    else if (res.status === 503) { say(message(res.body), "bad"); }
    return null;
  }
  function gathered(c) {
    return new Promise(function (resolve) {
      if (c.iceGatheringState === "complete") { resolve(); return; }
      var timer = setTimeout(resolve, GATHER);
      c.addEventListener("icegatheringstatechange", function () {
        if (c.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }
  function subscribe(hall) {
    close();
    generation = hall;
    var c = pc = api.pc = new RTCPeerConnection(rtc || {});
    api.subscriptions += 1;
    c.ontrack = function (ev) {
      var stream = ev.streams[0];
      if (!stream) { stream = video.srcObject || new MediaStream(); stream.addTrack(ev.track); }
      if (video.srcObject !== stream) { video.srcObject = stream; video.play().catch(function () {}); }
    };
    c.onconnectionstatechange = function () {
      if (c !== pc) { return; }
      if (c.connectionState === "connected") { say(d.live, "ok"); }
      else if (c.connectionState === "failed" || c.connectionState === "disconnected") { say(d.reconnecting, "bad"); }
    };
    say(d.connecting);
    return post(d.subscribe, { sid: sid }).then(function (res) {
      var body = answer(res);
      if (!body || c !== pc) { if (c === pc) { close(); } return; }
      return c.setRemoteDescription(body.offer)
        .then(function () { return c.createAnswer(); })
        .then(function (a) { return c.setLocalDescription(a); })
        .then(function () { return gathered(c); })
        .then(function () { return post(d.start, { sid: sid, answer: { type: "answer", sdp: c.localDescription.sdp } }); })
        .then(function (res2) { if (!answer(res2) && c === pc) { close(); } });
    });
  }
  function poll() {
    if (stopped) { return; }
    fetch(d.poll + "?sid=" + sid, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); })
      .then(function (res) {
        var body = answer(res);
        if (!body) { return; }
        rtc = body.rtc;
        if (!body.hall) { close(); say(d.noHall); return; }
        var state = pc ? pc.connectionState : "closed";
        if (busy) { return; }
        if (!pc || body.hall !== generation || state === "failed" || state === "closed") {
          busy = true;
          return subscribe(body.hall).catch(function (e) {
            if (window.console) { console.warn("watch:", e); }
            close();
          }).then(function () { busy = false; });
        }
      }, function () { /* offline: the next poll */ })
      .then(function () { if (!stopped) { setTimeout(poll, POLL); } });
  }
  sound.addEventListener("click", function () {
    video.muted = !video.muted;
    sound.textContent = video.muted ? d.unmute : d.mute;
    if (!video.muted) { video.play().catch(function () {}); }
  });
  poll();
}());
