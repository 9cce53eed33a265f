/* Cloud voting on the member's phone (docs/cloud-voting.md).
   The phone makes its own key pair (WebCrypto, non-extractable: Ed25519 where the browser has it,
   else ECDSA P-256) and keeps it in IndexedDB; it signs statements it builds itself from what the
   member chose. The server only ever sees the public key and the signatures. No libraries. */
(function () {
  "use strict";
  var root = document.querySelector("[data-cloud]");
  if (!root) { return; }
  var d = root.dataset;
  var msg = document.getElementById("cloud-message");
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";

  function say(text, kind) {
    if (!msg) { return; }
    msg.textContent = text;
    msg.className = "notice " + (kind === "ok" ? "notice-success" : kind === "wait" ? "" : "notice-error");
    msg.hidden = false;
  }
  function refusal(data) {
    var e = (data && data.error) || {};
    return (e.message || d.failed) + (e.rule ? " [" + e.rule + "]" : "") +
      (e.en && e.en !== e.message ? " / " + e.en : "");
  }

  /* What the phone signs: statement.js (loaded before this file), checked against the
     server's builder with shared test vectors. */
  var statementOf = window.SunVoteStatement.build;
  function b64(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s);
  }
  function randomId() { /* 16 random bytes, URL-safe base64 without padding: 22 characters */
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  /* IndexedDB: one entry per village log and member: {id, alg, key, privateKey}. */
  function store(mode, fn) {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open("sunvote", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("keys", { keyPath: "id" }); };
      open.onerror = function () { reject(open.error); };
      open.onsuccess = function () {
        var tx = open.result.transaction("keys", mode);
        var req = fn(tx.objectStore("keys"));
        tx.oncomplete = function () { resolve(req && req.result); };
        tx.onerror = function () { reject(tx.error); };
      };
    });
  }
  var slot = d.log + "#" + d.member;
  function loadKey() { return store("readonly", function (s) { return s.get(slot); }); }
  function saveKey(entry) { return store("readwrite", function (s) { return s.put(entry); }); }

  function makeKey() {
    var subtle = crypto.subtle;
    return subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]).then(function (pair) {
      return { alg: "ed25519", pair: pair };
    }, function () {
      return subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])
        .then(function (pair) { return { alg: "p256", pair: pair }; });
    }).then(function (made) {
      return subtle.exportKey("raw", made.pair.publicKey).then(function (raw) {
        return { id: slot, alg: made.alg, key: made.alg + ":" + b64(raw), privateKey: made.pair.privateKey };
      });
    });
  }
  function sign(entry, text) {
    var algo = entry.alg === "ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
    return crypto.subtle.sign(algo, entry.privateKey, new TextEncoder().encode(text)).then(b64);
  }
  function post(url, body, tries) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }, function (error) {
      if (tries > 1) { /* a slow or lost network: send the same thing again (idempotent) */
        say(d.retrying, "wait");
        return new Promise(function (res) { setTimeout(res, 1500); }).then(function () { return post(url, body, tries - 1); });
      }
      throw error;
    });
  }
  function secure() {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle || !window.indexedDB) {
      say(d.insecure); return false;
    }
    return true;
  }
  function member() { return parseInt(d.member, 10); }
  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = on; });
  }

  /* --- Enrolment: PIN, key pair, proof of possession --- */
  var enrolForm = document.getElementById("enrol-form");
  if (enrolForm) {
    enrolForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var pin = enrolForm.pin.value, pin2 = enrolForm.pin2.value;
      if (!/^[0-9]{6}$/.test(pin)) { say(d.pinFormat); return; }
      if (pin !== pin2) { say(d.pinMismatch); return; }
      if (!secure()) { return; }
      busy(enrolForm, true); say(d.working, "wait");
      makeKey().then(function (entry) {
        var statement = statementOf("enrol", d.log, { member: member(), key: entry.key, challenge: d.challenge });
        return sign(entry, statement).then(function (sig) {
          return post(d.post, { token: d.token, key: entry.key, statement: statement, sig: sig, pin: pin }, 1);
        }).then(function (res) {
          if (!res.ok) { throw res.data; }
          return saveKey(entry).then(function () { return res.data; });
        });
      }).then(function (data) {
        enrolForm.hidden = true;
        say(data.message + " (" + data.fingerprint + ")", "ok");
      }, function (data) { busy(enrolForm, false); say(refusal(data)); });
    });
  }

  /* --- Joining a meeting: PIN, presence code, signed check-in --- */
  var joinForm = document.getElementById("join-form");
  if (joinForm) {
    if (secure()) {
      loadKey().then(function (entry) { if (!entry) { say(d.noKey); busy(joinForm, true); } });
    }
    joinForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var pin = joinForm.pin.value, code = joinForm.code.value.replace(/\s/g, "");
      if (!/^[0-9]{6}$/.test(pin)) { say(d.pinFormat); return; }
      if (!/^[0-9]{6}$/.test(code)) { say(d.codeFormat); return; }
      busy(joinForm, true); say(d.working, "wait");
      loadKey().then(function (entry) {
        if (!entry) { throw null; }
        var statement = statementOf("attend", d.log, { meeting: parseInt(d.meeting, 10), member: member(), code: code });
        return sign(entry, statement).then(function (sig) {
          return post(d.post, { token: d.token, key: entry.key, statement: statement, sig: sig, pin: pin, code: code }, 2);
        });
      }).then(function (res) {
        if (!res.ok) { throw res.data; }
        window.location.href = res.data.redirect;
      }, function (data) { busy(joinForm, false); say(data ? refusal(data) : d.noKey); });
    });
  }

  /* --- Voting: choice, confirmation, signed ballot, receipt --- */
  var voteForm = document.getElementById("vote-form");
  if (voteForm) {
    var confirmBox = document.getElementById("vote-confirm");
    var chosen = null;
    Array.prototype.forEach.call(voteForm.querySelectorAll("button[data-choice]"), function (b) {
      b.addEventListener("click", function () {
        chosen = b.dataset.choice;
        document.getElementById("confirm-choice").textContent = b.textContent;
        confirmBox.className = "vote-confirm vote-" + chosen;
        voteForm.hidden = true; confirmBox.hidden = false;
      });
    });
    document.getElementById("vote-back").addEventListener("click", function () {
      confirmBox.hidden = true; voteForm.hidden = false;
    });
    document.getElementById("vote-send").addEventListener("click", function () {
      if (!secure()) { return; }
      var button = this;
      button.disabled = true; say(d.working, "wait");
      /* One ballot id per poll, kept until the answer arrives: a resubmission after a lost
         answer carries the same id and gets the same receipt, never a second ballot. */
      var pendingKey = "sunvote-ballot-" + d.log + "-" + d.meeting + "-" + d.poll;
      var pending = JSON.parse(localStorage.getItem(pendingKey) || "null");
      if (!pending || pending.choice !== chosen) { pending = { ballot: randomId(), choice: chosen }; }
      localStorage.setItem(pendingKey, JSON.stringify(pending));
      loadKey().then(function (entry) {
        if (!entry) { throw null; }
        var fields = { meeting: parseInt(d.meeting, 10), poll: parseInt(d.poll, 10), member: member() };
        if (d.mode === "named") { fields.choice = pending.choice; fields.ballot = pending.ballot; }
        var statement = statementOf(d.mode === "named" ? "ballot" : "participation", d.log, fields);
        return sign(entry, statement).then(function (sig) {
          return post(d.post, { poll: parseInt(d.poll, 10), choice: pending.choice, ballot: pending.ballot,
                                key: entry.key, statement: statement, sig: sig }, 4);
        });
      }).then(function (res) {
        if (!res.ok) { throw res.data; }
        localStorage.removeItem(pendingKey);
        window.location.href = res.data.receipt_url;
      }, function (data) { button.disabled = false; say(data ? refusal(data) : d.noKey); });
    });
  }

  /* --- Waiting for the next poll: reload when the meeting's state changes --- */
  if (d.feed) {
    var seen = d.state;
    setInterval(function () {
      fetch(d.feed, { credentials: "same-origin", cache: "no-store" }).then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.signature && s.signature !== seen) { window.location.reload(); }
        }, function () { /* offline: keep the page, try again */ });
    }, 5000);
  }
}());
