/* Meeting video (issue 19, docs/video.md): WebRTC between the hall device and each cloud
   member's phone, with the signalling relayed by SunVote over plain HTTP (POST a message, poll
   signal.json for the ones addressed here).

   The phone offers, the hall answers: one RTCPeerConnection per checked-in cloud member on the
   hall (data-video="hall", in the hall video page), one to the hall on the phone
   (data-video="phone"). The hall sends its camera and microphone (hall_video.js hands them
   over: window.sunvoteHallStream and the "sunvote:hall-stream" event) and shows each member's
   video in a tile with their name; the phone shows the hall, its own preview, mute and
   camera-off. For 4G: the phone's camera at 320×240, 15 fps, capped bitrates, the hall scaled
   down to 360 lines per phone; audio only while getStats() says the upload is too thin or
   lossy. Reconnects by itself: ICE restart when the connection drops or the signalling comes
   back after an outage, a new connection when that fails, with backoff. No libraries. */
(function () {
  "use strict";
  var root = document.querySelector("[data-video]");
  if (!root) { return; }
  var d = root.dataset, side = d.video;
  var statusLine = document.getElementById("video-status");
  function say(text, kind) {
    if (!statusLine) { return; }
    statusLine.textContent = text;
    statusLine.className = "video-status" + (kind ? " " + kind : "");
  }
  if (!window.RTCPeerConnection || !navigator.mediaDevices || !window.fetch) {
    say(d.sInsecure, "bad"); return;
  }

  var FAST = 500, SLOW = 2500, OUTAGE = 6000, RESTART_WAIT = 10000, BACKOFF_MAX = 15000;
  var cfg = null;             // {rtc, media} from the first answer of signal.json
  var cursor = -1;            // the last message id seen (-1: start from now)
  var stopped = false;
  var api = window.sunvoteVideo = { side: side, reconnects: 0, rebuilds: 0, peers: {} };

  function randomId() {
    var bytes = crypto.getRandomValues(new Uint8Array(12)), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store",
                        headers: { "Accept": "application/json" } }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    });
  }
  function post(body, keepalive) {
    return fetch(d.send, {
      method: "POST", credentials: "same-origin", keepalive: Boolean(keepalive),
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": d.csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); });
  }
  function refusalText(body) {
    var e = (body && body.error) || {};
    return (e.message || "") + (e.rule ? " [" + e.rule + "]" : "") + (e.en && e.en !== e.message ? " / " + e.en : "");
  }

  /* --- One connection: candidates batched, remote candidates queued until the description,
         the senders capped, audio only when the stats say so. --- */
  function Link(id, peer, sendMessage) {
    var self = this;
    this.id = id; this.peer = peer; this.send = sendMessage;
    this.pc = new RTCPeerConnection(cfg.rtc);
    this.chain = Promise.resolve();
    this.outgoing = []; this.flushTimer = null;
    this.audioOnly = false; this.remoteAudioOnly = false; this.badChecks = 0; this.goodChecks = 0;
    this.startedAt = performance.now(); this.firstFrameMs = null;
    this.pc.onicecandidate = function (ev) {
      if (!ev.candidate) { return; }
      self.outgoing.push(ev.candidate.toJSON());
      if (!self.flushTimer) {
        self.flushTimer = setTimeout(function () {
          var list = self.outgoing; self.outgoing = []; self.flushTimer = null;
          self.send("candidates", list);
        }, 150);
      }
    };
    this.statsTimer = setInterval(function () { self.checkStats(); },
                                  1000 * cfg.media.fallback.check_seconds);
  }
  Link.prototype.then = function (fn) {
    var self = this;
    this.chain = this.chain.then(function () { if (!self.closed) { return fn(); } })
      .catch(function (e) { if (window.console) { console.warn("video:", e); } });
    return this.chain;
  };
  Link.prototype.remote = function (desc) {
    var pc = this.pc;
    return pc.setRemoteDescription(desc);
  };
  Link.prototype.candidates = function (list) {
    var pc = this.pc;
    return this.then(function () {
      return Promise.all(list.map(function (c) { return pc.addIceCandidate(c).catch(function () {}); }));
    });
  };
  Link.prototype.close = function () {
    this.closed = true;
    clearInterval(this.statsTimer);
    if (this.control) { try { this.control.close(); } catch (e) { /* closed */ } }
    this.pc.close();
  };
  Link.prototype.tell = function (what) {
    if (this.control && this.control.readyState === "open") { this.control.send(JSON.stringify(what)); }
  };
  Link.prototype.useControl = function (channel, onMessage) {
    var self = this;
    this.control = channel;
    channel.onmessage = function (ev) {
      try { onMessage(JSON.parse(ev.data)); } catch (e) { /* not ours */ }
    };
    channel.onopen = function () { self.tell(self.state()); };
  };
  Link.prototype.state = function () { return { audioOnly: this.audioOnly }; };

  /* The caps of this side (cfg.media.phone / .hall) on every sender; the video sender's
     encoding switched off while audio only. */
  Link.prototype.tune = function () {
    var caps = cfg.media[side], self = this;
    return Promise.all(this.pc.getSenders().map(function (sender) {
      if (!sender.track) { return null; }
      var params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) { params.encodings = [{}]; }
      var enc = params.encodings[0];
      if (sender.track.kind === "video") {
        var height = (sender.track.getSettings() || {}).height || caps.height || 360;
        enc.maxBitrate = caps.maxBitrate;
        enc.maxFramerate = caps.frameRate;
        enc.scaleResolutionDownBy = Math.max(1, height / (caps.height || height));
        enc.active = !self.audioOnly;
      } else {
        enc.maxBitrate = caps.audioBitrate;
      }
      return sender.setParameters(params).catch(function () {});
    }));
  };
  /* getStats(): the estimated upload (availableOutgoingBitrate of the selected candidate pair)
     and the loss the other side reports (remote-inbound-rtp fractionLost); kept for the
     benchmark as totals of bytes. */
  Link.prototype.checkStats = function () {
    var self = this, fb = cfg.media.fallback;
    if (this.pc.connectionState !== "connected") { return; }
    this.pc.getStats().then(function (report) {
      var available = null, loss = 0, sent = 0, received = 0, pairId = null;
      report.forEach(function (s) {
        if (s.type === "transport" && s.selectedCandidatePairId) { pairId = s.selectedCandidatePairId; }
      });
      report.forEach(function (s) {
        if (s.type === "candidate-pair" && (s.id === pairId || (!pairId && s.nominated && s.state === "succeeded"))) {
          if (typeof s.availableOutgoingBitrate === "number") { available = s.availableOutgoingBitrate; }
          sent = s.bytesSent || 0; received = s.bytesReceived || 0;
        }
        if (s.type === "remote-inbound-rtp" && typeof s.fractionLost === "number") { loss = Math.max(loss, s.fractionLost); }
      });
      self.bytes = { sent: sent, received: received, at: performance.now() };
      var bad = (available !== null && available < fb.audio_only_below) || loss > fb.loss_above;
      var good = (available === null || available > fb.video_again_above) && loss < fb.loss_above / 2;
      self.badChecks = bad ? self.badChecks + 1 : 0;
      self.goodChecks = good ? self.goodChecks + 1 : 0;
      if (!self.audioOnly && self.badChecks >= 2) { self.setAudioOnly(true); }
      else if (self.audioOnly && self.goodChecks >= 3) { self.setAudioOnly(false); }
    }).catch(function () {});
  };
  Link.prototype.setAudioOnly = function (on) {
    this.audioOnly = on;
    this.tune();
    this.tell(this.state());
    if (this.onAudioOnly) { this.onAudioOnly(); }
  };
  /* The first frame of the remote video: for the setup time (benchmark) and the tile. */
  Link.prototype.watchFirstFrame = function (video) {
    var self = this;
    function seen() { if (self.firstFrameMs === null) { self.firstFrameMs = performance.now() - self.startedAt; } }
    if (video.requestVideoFrameCallback) { video.requestVideoFrameCallback(seen); }
    else { video.addEventListener("loadeddata", seen, { once: true }); }
  };
  Link.prototype.report = function () {
    var v = this.video;
    return { peer: this.peer, pc: this.id, state: this.pc.connectionState,
             ice: this.pc.iceConnectionState, audioOnly: this.audioOnly,
             remoteAudioOnly: this.remoteAudioOnly, firstFrameMs: this.firstFrameMs,
             videoWidth: v ? v.videoWidth : 0, currentTime: v ? v.currentTime : 0,
             bytes: this.bytes || null };
  };

  /* --- The poll loop, shared: every FAST ms while connecting, SLOW once connected; an error
         (the network is gone) doubles the wait up to BACKOFF_MAX. --- */
  var failures = 0, outageSince = null, pollTimer = null;
  function schedule(ms) { clearTimeout(pollTimer); if (!stopped) { pollTimer = setTimeout(poll, ms); } }
  function poll() {
    var url = d.poll + (d.poll.indexOf("?") < 0 ? "?" : "&") + "after=" + cursor + (side === "hall" ? "&sid=" + sid : "");
    var started = performance.now();
    getJSON(url).then(function (res) {
      if (res.status === 403 || res.status === 409 || res.status === 404) { stop(refusalText(res.body)); return; }
      if (res.status === 503) {  // Janus is down: say so, ask again later
        failures += 1; say(refusalText(res.body), "bad");
        schedule(Math.min(BACKOFF_MAX, FAST * Math.pow(2, failures))); return;
      }
      res.body.asked = started;
      if (res.status !== 200) { throw new Error(res.status); }
      failures = 0;
      var outage = outageSince !== null && performance.now() - outageSince >= OUTAGE;
      outageSince = null;
      cfg = { rtc: res.body.rtc, media: res.body.media };
      cursor = res.body.cursor;
      var settled = handle(res.body, outage);
      schedule(settled ? SLOW : FAST);
    }).catch(function () {
      failures += 1;
      if (outageSince === null) { outageSince = performance.now(); }
      say(d.sReconnecting, "bad");
      schedule(Math.min(BACKOFF_MAX, FAST * Math.pow(2, failures)));
    });
  }
  function stop(text) {
    stopped = true;
    clearTimeout(pollTimer);
    Object.keys(api.peers).forEach(function (k) { api.peers[k].close(); });
    api.peers = {};
    if (publisher) { publisher.close(); publisher = null; }
    if (local) { local.getTracks().forEach(function (t) { t.stop(); }); }
    say(text, "bad");
    if (side === "hall") { clearInterval(helloTimer); }
  }

  /* A video with sound may not start by itself before the user touched the page (the
     browser's autoplay policy): then it starts muted, and sounds at the first touch. */
  function play(video, stream) {
    video.srcObject = stream;
    var started = video.play();
    if (started && started.catch) {
      started.catch(function () {
        video.muted = true; video.play().catch(function () {});
        document.addEventListener("click", function () { video.muted = false; }, { once: true });
      });
    }
  }

  /* ================================ the phone ================================ */
  var local = null, link = null, hallSid = null, backoff = 1000, restartTimer = null;
  var hallVideo = document.getElementById("video-of-hall");
  var selfVideo = document.getElementById("video-self");
  var badge = document.getElementById("video-audio-only");
  var micOn = true, cameraOn = true;

  function phoneBadge() {
    if (badge) { badge.hidden = !(link && (link.audioOnly || link.remoteAudioOnly)); }
  }
  function phoneConnect(reason) {
    if (link) { link.close(); }
    clearTimeout(restartTimer);
    if (reason) { api.rebuilds += 1; }
    var pcId = randomId();
    link = new Link(pcId, "hall", function (kind, data) {
      return post({ hall: hallSid, kind: kind, pc: pcId, data: data }).catch(function () {});
    });
    api.peers = { hall: link };
    var pc = link.pc;
    var audio = pc.addTransceiver("audio", { direction: "sendrecv" });
    var video = pc.addTransceiver("video", { direction: "sendrecv" });
    if (local) {
      local.getAudioTracks().forEach(function (t) { audio.sender.replaceTrack(t); });
      if (cameraOn) { local.getVideoTracks().forEach(function (t) { video.sender.replaceTrack(t); }); }
    }
    link.useControl(pc.createDataChannel("control"), function (msg) {
      link.remoteAudioOnly = Boolean(msg.audioOnly); phoneBadge();
      var sign = document.getElementById("recording-sign");
      if (sign && typeof msg.recording === "boolean") { sign.hidden = !msg.recording; }
    });
    link.state = function () { return { audioOnly: this.audioOnly, mic: micOn, camera: cameraOn }; };
    link.onAudioOnly = phoneBadge;
    pc.ontrack = function (ev) {
      if (hallVideo && hallVideo.srcObject !== ev.streams[0]) {
        play(hallVideo, ev.streams[0] || new MediaStream([ev.track]));
        link.video = hallVideo;
        link.watchFirstFrame(hallVideo);
      }
    };
    pc.onconnectionstatechange = function () { phoneState(link); };
    say(d.sConnecting);
    link.then(function () {
      return pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
        .then(function () { return link.tune(); })
        .then(function () { return link.send("offer", { type: "offer", sdp: pc.localDescription.sdp }); })
        .then(function () { schedule(200); });  // the answer is on its way: ask soon
    });
  }
  function phoneState(l) {
    if (l !== link) { return; }
    var state = l.pc.connectionState;
    if (state === "connected") {
      backoff = 1000; clearTimeout(restartTimer); say(d.sConnected, "ok"); l.tune();
    } else if (state === "disconnected") {
      say(d.sReconnecting, "bad");
      clearTimeout(restartTimer);
      restartTimer = setTimeout(function () { if (l === link && l.pc.connectionState !== "connected") { iceRestart(); } }, 3000);
    } else if (state === "failed") {
      say(d.sReconnecting, "bad"); rebuildLater();
    }
  }
  function rebuildLater() {
    clearTimeout(restartTimer);
    restartTimer = setTimeout(function () { if (hallSid) { phoneConnect("failed"); } }, backoff);
    backoff = Math.min(BACKOFF_MAX, backoff * 2);
  }
  /* A new ICE negotiation on the same connection; a new connection if it does not come up. */
  function iceRestart() {
    if (!link || !hallSid) { return; }
    var l = link, pc = l.pc;
    api.reconnects += 1;
    l.then(function () {
      return pc.createOffer({ iceRestart: true }).then(function (offer) { return pc.setLocalDescription(offer); })
        .then(function () { return l.send("offer", { type: "offer", sdp: pc.localDescription.sdp }); });
    });
    clearTimeout(restartTimer);
    restartTimer = setTimeout(function () {
      if (l === link && pc.connectionState !== "connected") { rebuildLater(); }
    }, RESTART_WAIT);
  }
  function phoneHandle(body, outage) {
    if (body.hall !== hallSid) {
      hallSid = body.hall;
      if (!hallSid) { if (link) { link.close(); link = null; } say(d.sNoHall); return false; }
      phoneConnect(link ? "hall" : null);
      return false;
    }
    if (!hallSid) { say(d.sNoHall); return false; }
    (body.messages || []).forEach(function (m) {
      if (!link || m.pc !== link.id) { return; }
      if (m.kind === "answer") { link.then(function () { return link.remote(m.data); }).then(function () { return link.tune(); }); }
      else if (m.kind === "candidates") { link.candidates(m.data); }
      else if (m.kind === "bye") { rebuildLater(); }
    });
    if (!link) { phoneConnect("lost"); return false; }
    if (outage) { iceRestart(); }  // the network was gone: the media path has likely changed
    return link.pc.connectionState === "connected";
  }
  function phoneControls() {
    var mute = document.getElementById("video-mute"), camera = document.getElementById("video-camera");
    if (mute) {
      mute.addEventListener("click", function () {
        micOn = !micOn;
        if (local) { local.getAudioTracks().forEach(function (t) { t.enabled = micOn; }); }
        mute.textContent = micOn ? d.sMute : d.sUnmute;
        mute.setAttribute("aria-pressed", String(!micOn));
        if (link) { link.tell(link.state()); }
      });
    }
    if (camera) {
      camera.addEventListener("click", function () {
        cameraOn = !cameraOn;
        var track = local && local.getVideoTracks()[0];
        if (track) { track.enabled = cameraOn; }
        if (link && track) {  // off: send nothing at all (saves the bandwidth), not black frames
          link.pc.getTransceivers().forEach(function (t) {
            if (t.receiver.track && t.receiver.track.kind === "video") { t.sender.replaceTrack(cameraOn ? track : null); }
          });
          link.tune(); link.tell(link.state());
        }
        camera.textContent = cameraOn ? d.sCameraOff : d.sCameraOn;
        camera.setAttribute("aria-pressed", String(!cameraOn));
      });
    }
  }

  /* ================================ the hall ================================ */
  var sid = side === "hall" ? randomId() : null;
  var hallStream = null, helloTimer = null, helloEvery = 15000;
  var tiles = document.getElementById("video-tiles"), count = document.getElementById("video-count");
  var names = {};

  function hallTracks(pc) {
    if (!hallStream) { return; }
    pc.getTransceivers().forEach(function (t) {
      var kind = t.receiver.track && t.receiver.track.kind;
      var track = kind && hallStream.getTracks().filter(function (x) { return x.kind === kind; })[0];
      if (track && t.sender.track !== track) { t.sender.replaceTrack(track); }
    });
  }
  function useHallStream(stream) {
    if (!stream || stream === hallStream) { return; }
    hallStream = stream;
    if (sfuMode) { return; }  // through Janus: published at the next poll
    Object.keys(api.peers).forEach(function (k) { hallTracks(api.peers[k].pc); api.peers[k].tune(); });
  }
  function tileOf(peer) {
    var li = document.getElementById("tile-" + peer);
    if (li) { return li; }
    li = document.createElement("li");
    li.id = "tile-" + peer; li.className = "video-tile";
    li.setAttribute("data-peer", peer);
    var video = document.createElement("video");
    video.autoplay = true; video.playsInline = true;
    var label = document.createElement("div"); label.className = "video-name";
    var state = document.createElement("div"); state.className = "video-tile-state";
    state.textContent = d.sNotOpen;
    li.appendChild(video); li.appendChild(label); li.appendChild(state);
    tiles.appendChild(li);
    return li;
  }
  function tileState(peer) {
    var li = document.getElementById("tile-" + peer), l = api.peers[peer];
    if (!li) { return; }
    var text = d.sNotOpen, cls = "";
    if (l) {
      text = d.sConnecting;
      var st = l.pc.connectionState;
      if (st === "connected") {
        var r = l.remote || {};
        var parts = [];
        if (l.audioOnly || r.audioOnly) { parts.push(d.sAudioOnly); }
        if (r.camera === false) { parts.push(d.sCameraIsOff); }
        if (r.mic === false) { parts.push(d.sMuted); }
        text = parts.join(" · "); cls = parts.length ? "warn" : "ok";
      } else if (st === "disconnected" || st === "failed") { text = d.sReconnecting; cls = "bad"; }
    }
    var box = li.querySelector(".video-tile-state");
    box.textContent = text; box.className = "video-tile-state " + cls;
    li.classList.toggle("audio-only", Boolean(l && (l.audioOnly || (l.remote && (l.remote.audioOnly || l.remote.camera === false)))));
  }
  /* The recording sign of the hall page (recording.js shows it while it records): each phone
     shows its own sign as long as the hall's is shown. */
  function hallRecording() {
    var sign = document.getElementById("recording-sign");
    return Boolean(sign && !sign.hidden);
  }
  function watchRecording() {
    var sign = document.getElementById("recording-sign");
    if (!sign || !window.MutationObserver) { return; }
    new MutationObserver(function () {
      Object.keys(api.peers).forEach(function (k) { api.peers[k].tell(api.peers[k].state()); });
    }).observe(sign, { attributes: true, attributeFilter: ["hidden"] });
  }
  function hallAnswer(m) {
    var peer = m.from, l = api.peers[peer];
    if (!l || l.id !== m.pc) {  // a new connection from this phone (first, or rebuilt)
      if (l) { l.close(); api.rebuilds += 1; }
      l = new Link(m.pc, peer, function (kind, data) {
        return post({ sid: sid, to: peer, kind: kind, pc: m.pc, data: data }).catch(function () {});
      });
      api.peers[peer] = l;
      var li = tileOf(peer), video = li.querySelector("video");
      l.video = video;
      l.pc.ontrack = function (ev) {
        if (video.srcObject !== ev.streams[0]) { play(video, ev.streams[0] || new MediaStream([ev.track])); l.watchFirstFrame(video); }
      };
      l.pc.ondatachannel = function (ev) {
        l.useControl(ev.channel, function (msg) { l.remote = msg; tileState(peer); });
      };
      l.pc.onconnectionstatechange = function () {
        if (l.pc.connectionState === "connected") { l.tune(); }
        tileState(peer);
      };
      l.onAudioOnly = function () { tileState(peer); };
      l.state = function () { return { audioOnly: this.audioOnly, recording: hallRecording() }; };
    } else { api.reconnects += 1; }  // an ICE restart of the same connection
    var pc = l.pc;
    l.then(function () {
      return l.remote(m.data).then(function () {
        pc.getTransceivers().forEach(function (t) { t.direction = "sendrecv"; });
        hallTracks(pc);
        return pc.createAnswer();
      }).then(function (answer) { return pc.setLocalDescription(answer); })
        .then(function () { return l.tune(); })
        .then(function () { return l.send("answer", { type: "answer", sdp: pc.localDescription.sdp }); });
    });
    tileState(peer);
  }
  function hallHandle(body) {
    if (body.me === false && body.hall) { stop(d.sOtherHall); return true; }
    helloEvery = 1000 * (body.hello_seconds || 15);
    var admitted = {};
    (body.peers || []).forEach(function (p) {
      admitted[p.peer] = true; names[p.peer] = p.name;
      var li = tileOf(p.peer);
      li.querySelector(".video-name").textContent = p.name;
    });
    Object.keys(api.peers).forEach(function (peer) {  // left the meeting, or no longer admitted
      if (!admitted[peer]) { api.peers[peer].close(); delete api.peers[peer]; }
    });
    Array.prototype.forEach.call(tiles.querySelectorAll(".video-tile"), function (li) {
      if (!admitted[li.getAttribute("data-peer")]) { li.remove(); }
    });
    (body.messages || []).forEach(function (m) {
      if (!admitted[m.from]) { return; }
      if (m.kind === "offer") { hallAnswer(m); }
      else if (m.kind === "candidates" && api.peers[m.from] && api.peers[m.from].id === m.pc) { api.peers[m.from].candidates(m.data); }
      else if (m.kind === "bye" && api.peers[m.from] && api.peers[m.from].id === m.pc) { api.peers[m.from].close(); delete api.peers[m.from]; tileState(m.from); }
    });
    var peers = Object.keys(admitted);
    if (count) { count.textContent = String(peers.length); }
    say(peers.length ? (hallStream ? d.sConnected : d.sWaitingCamera) : d.sNone, hallStream ? "ok" : "");
    peers.forEach(tileState);
    return peers.every(function (p) { return api.peers[p] && api.peers[p].pc.connectionState === "connected"; });
  }
  function hello() {
    return post({ sid: sid, kind: "hello", pc: sid, data: null }).then(function (res) {
      if (res.status === 403 || res.status === 409) { stop(refusalText(res.body)); }
    }, function () { /* offline: the next one */ });
  }

  /* ======================= through Janus (the SFU), when signal.json says so =======================
     The hall publishes its camera once and subscribes to each admitted phone's feed; a phone
     publishes its camera and subscribes to the hall's. Each step is one POST to SunVote, which
     does the exchange with Janus and answers with Janus's SDP: publish (our offer, ICE gathered
     → Janus's answer), subscribe (→ Janus's offer), start (our answer). Janus's candidates are
     in its SDP; ours in our SDP (gathered for at most GATHER ms). A connection that fails, or
     that the poll says SunVote no longer holds, is built again at a later poll. */
  var GATHER = 2000, RETRY = 1500;
  var sfuMode = false, sfuBusy = false, publisher = null, tried = {};
  function postTo(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": d.csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); });
  }
  function gathered(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") { resolve(); return; }
      var timer = setTimeout(resolve, GATHER);
      pc.addEventListener("icegatheringstatechange", function () {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }
  function dead(l) {
    return !l || l.closed || l.pc.connectionState === "failed" || l.pc.connectionState === "closed";
  }
  /* A refusal (403, 409 of the meeting) stops the page; Janus unavailable (503) is said, and
     the next poll tries again; "gone" (409) just waits for the next poll. */
  function sfuAnswer(res) {
    if (res.status === 200) { return res.body; }
    if (res.status === 503) { say(refusalText(res.body), "bad"); return null; }
    if (res.status === 403 || (res.status === 409 && !(res.body && res.body.gone))) { stop(refusalText(res.body)); }
    return null;
  }
  function sfuStep(fn) {
    if (sfuBusy || stopped) { return; }
    sfuBusy = true;
    Promise.resolve().then(fn).catch(function (e) { if (window.console) { console.warn("video:", e); } })
      .then(function () { sfuBusy = false; });
  }
  function noSignal() { return Promise.resolve(); }
  /* Whether SunVote no longer holds this publication (Janus restarted, the session timed out):
     only a poll asked after the publication was made can say so. */
  function lost(l, published, body) {
    return Boolean(l.published) && published !== l.published && body.asked > l.startedAt + GATHER + 5000;
  }
  /* Publish this side's stream (its caps, audio only when the stats say so). */
  function sfuPublish(stream, extra) {
    if (publisher) { publisher.close(); }
    var l = publisher = new Link(randomId(), "publish", noSignal), pc = l.pc;
    api.publisher = l;
    var audio = pc.addTransceiver("audio", { direction: "sendonly" });
    var video = pc.addTransceiver("video", { direction: "sendonly" });
    stream.getAudioTracks().forEach(function (t) { audio.sender.replaceTrack(t); });
    if (side === "hall" || cameraOn) { stream.getVideoTracks().forEach(function (t) { video.sender.replaceTrack(t); }); }
    pc.onconnectionstatechange = function () { if (pc.connectionState === "connected") { l.tune(); } };
    if (side === "phone") { link = l; l.onAudioOnly = function () { if (badge) { badge.hidden = !l.audioOnly; } }; }
    return pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () { return l.tune(); })
      .then(function () { return gathered(pc); })
      .then(function () {
        var body = { offer: { type: "offer", sdp: pc.localDescription.sdp } };
        Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
        return postTo(d.publish, body);
      }).then(function (res) {
        var body = sfuAnswer(res);
        if (!body) { l.close(); if (publisher === l) { publisher = null; } return; }
        l.published = body.published;
        return pc.setRemoteDescription(body.answer).then(function () { return l.tune(); });
      });
  }
  /* Subscribe to one feed: ``peer`` (the hall's "hall", or a member "m<id>"), ``generation``:
     the publication's id from the poll (a new one: subscribe again). */
  function sfuSubscribe(peer, generation, video, extra) {
    var key = peer + ":" + generation;
    if (tried[key] && performance.now() - tried[key] < RETRY) { return Promise.resolve(); }
    tried[key] = performance.now();
    if (api.peers[peer]) { api.peers[peer].close(); api.rebuilds += 1; }
    var l = new Link(randomId(), peer, noSignal), pc = l.pc;
    l.generation = generation; l.video = video;
    api.peers[peer] = l;
    pc.ontrack = function (ev) {
      var stream = ev.streams[0];
      if (!stream) { stream = video.srcObject instanceof MediaStream ? video.srcObject : new MediaStream(); stream.addTrack(ev.track); }
      if (video.srcObject !== stream) { play(video, stream); l.watchFirstFrame(video); }
    };
    pc.onconnectionstatechange = function () { if (side === "hall") { tileState(peer); } else { sfuPhoneSay(); } };
    var body = { peer: peer };
    Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
    return postTo(d.subscribe, body).then(function (res) {
      var answer = sfuAnswer(res);
      if (!answer) { l.close(); if (api.peers[peer] === l) { delete api.peers[peer]; } return; }
      return pc.setRemoteDescription(answer.offer)
        .then(function () { return pc.createAnswer(); })
        .then(function (a) { return pc.setLocalDescription(a); })
        .then(function () { return gathered(pc); })
        .then(function () {
          body.answer = { type: "answer", sdp: pc.localDescription.sdp };
          return postTo(d.start, body);
        }).then(function (res2) {
          if (!sfuAnswer(res2)) { l.close(); if (api.peers[peer] === l) { delete api.peers[peer]; } }
        });
    });
  }
  function sfuPhoneSay() {
    var sub = api.peers.hall;
    if (sub && sub.pc.connectionState === "connected") { say(d.sConnected, "ok"); }
    else if (sub && (sub.pc.connectionState === "disconnected" || sub.pc.connectionState === "failed")) { say(d.sReconnecting, "bad"); }
  }
  /* The phone: publish its camera (once it has one), subscribe to the current hall's feed. */
  function sfuPhone(body) {
    var s = body.sfu;
    if (!body.hall || !s.hall) {
      if (api.peers.hall) { api.peers.hall.close(); delete api.peers.hall; }
      say(d.sNoHall);
    }
    if (local && (dead(publisher) || lost(publisher, s.published, body))) {
      sfuStep(function () { return sfuPublish(local, {}); });
    } else if (s.hall && (dead(api.peers.hall) || (api.peers.hall.generation !== s.hall && body.asked > api.peers.hall.startedAt))) {
      sfuStep(function () { return sfuSubscribe("hall", s.hall, hallVideo, {}); });
    } else { sfuPhoneSay(); }
    var sub = api.peers.hall;
    return Boolean(sub && sub.pc.connectionState === "connected" && publisher && publisher.pc.connectionState === "connected");
  }
  /* The hall: its tiles as in mesh; publish its camera once; subscribe to each admitted
     phone that publishes; drop the subscriptions of phones no longer admitted. */
  function sfuHall(body) {
    if (body.me === false && body.hall) { stop(d.sOtherHall); return true; }
    var s = body.sfu, admitted = {};
    (body.peers || []).forEach(function (p) {
      admitted[p.peer] = true; names[p.peer] = p.name;
      tileOf(p.peer).querySelector(".video-name").textContent = p.name;
    });
    Object.keys(api.peers).forEach(function (peer) {
      if (!admitted[peer] || !s.feeds[peer]) { api.peers[peer].close(); delete api.peers[peer]; }
    });
    Array.prototype.forEach.call(tiles.querySelectorAll(".video-tile"), function (li) {
      if (!admitted[li.getAttribute("data-peer")]) { li.remove(); }
    });
    if (hallStream && (dead(publisher) || lost(publisher, s.published, body))) {
      sfuStep(function () { return sfuPublish(hallStream, { sid: sid }); });
    } else if (publisher && publisher.published) {
      Object.keys(s.feeds).some(function (peer) {
        var l = api.peers[peer];
        if (admitted[peer] && (dead(l) || (l.generation !== s.feeds[peer] && body.asked > l.startedAt))) {
          sfuStep(function () { return sfuSubscribe(peer, s.feeds[peer], tileOf(peer).querySelector("video"), { sid: sid }); });
          return true;
        }
        return false;
      });
    }
    var peers = Object.keys(admitted);
    if (count) { count.textContent = String(peers.length); }
    say(peers.length ? (hallStream ? d.sConnected : d.sWaitingCamera) : d.sNone, hallStream ? "ok" : "");
    peers.forEach(tileState);
    return Boolean(publisher && publisher.pc.connectionState === "connected") && peers.every(function (p) {
      return api.peers[p] && api.peers[p].pc.connectionState === "connected";
    });
  }

  function handle(body, outage) {
    if (body.sfu) {
      sfuMode = api.sfu = true;
      return side === "hall" ? sfuHall(body) : sfuPhone(body);
    }
    return side === "hall" ? hallHandle(body) : phoneHandle(body, outage);
  }
  api.report = function () {
    return Object.keys(api.peers).map(function (k) { return api.peers[k].report(); });
  };

  if (side === "hall") {
    document.addEventListener("sunvote:hall-stream", function (ev) { useHallStream(ev.detail && ev.detail.stream); });
    useHallStream(window.sunvoteHallStream);
    watchRecording();
    hello().then(function () { poll(); });
    helloTimer = setInterval(function () { if (!stopped) { hello(); } }, helloEvery);
  } else {
    phoneControls();
    /* Leaving the page (to vote): tell the hall, which shows the tile as not open. */
    window.addEventListener("pagehide", function () {
      if (link && hallSid && !sfuMode) { post({ hall: hallSid, kind: "bye", pc: link.id, data: null }, true).catch(function () {}); }
    });
    var m = cfgDefaults();
    navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: { width: { ideal: m.width }, height: { ideal: m.height }, frameRate: { ideal: m.frameRate, max: m.frameRate }, facingMode: "user" }
    }).catch(function () {
      say(d.sNoCamera, "bad");
      return navigator.mediaDevices.getUserMedia({ audio: true }).catch(function () { return null; });
    }).then(function (stream) {
      local = stream;
      if (selfVideo && stream && stream.getVideoTracks().length) { selfVideo.srcObject = stream; }
      poll();
    });
  }
  function cfgDefaults() {
    try { return JSON.parse(d.media || "null") || { width: 320, height: 240, frameRate: 15 }; }
    catch (e) { return { width: 320, height: 240, frameRate: 15 }; }
  }
}());
