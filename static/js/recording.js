/* The hall's recording (issue 19; docs/recording.md). Records the hall's stream
   (window.sunvoteHallStream, from hall_video.js) with MediaRecorder in chunks of 5 seconds,
   hashes each (SHA-256, Web Crypto), chains it to the one before, and uploads them in order:
   chunk number, the previous chunk's SHA-256 and its own go as headers. The server signs each
   chunk's hash into the village ledger. Off the network, chunks wait here in memory and go up
   when it returns (retries with backoff, up to 30 s apart). A refusal that says the server's
   chain stands elsewhere (another tab, a lost answer) restarts the recorder from where the
   server stands; a closed meeting stops it. */
(function () {
  "use strict";
  var box = document.getElementById("video-hall");
  var status = document.getElementById("recording-status");
  var sign = document.getElementById("recording-sign");
  if (box && box.getAttribute("data-state") === "convened" && box.getAttribute("data-feed")) {
    // Set up before the meeting opens: once it opens (from the meeting page, perhaps in
    // another tab), reload, so that the page records from then on.
    var watch = setInterval(function () {
      fetch(box.getAttribute("data-feed"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (feed) {
          if (feed && feed.state !== "convened") { clearInterval(watch); window.location.reload(); }
        }).catch(function () {});
    }, 5000);
  }
  if (!box || !status || box.getAttribute("data-open") !== "yes") { return; }
  if (!window.MediaRecorder || !window.crypto || !window.crypto.subtle) {
    status.textContent = status.getAttribute("data-unsupported");
    return;
  }
  var CHUNK_MS = 5000;
  var url = box.getAttribute("data-upload-url");
  var csrf = box.getAttribute("data-csrf");
  var next = parseInt(box.getAttribute("data-next-seq"), 10) || 0;   // next chunk to number
  var prev = box.getAttribute("data-last-sha");                      // its prev
  var queue = [];           // chunks hashed, waiting to go up, in order
  var sent = 0;
  var sending = false;
  var delay = 1000;
  var stopped = false;
  var run = 0;              // the recorder run: chunks of an earlier run are dropped
  var recorder = null;
  var hashing = Promise.resolve();

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function show(text) { status.textContent = text; }
  function progress() {
    show(format(status.getAttribute("data-progress"), { sent: sent, waiting: queue.length }));
  }
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  // --- IndexedDB: the chunks not yet taken, kept across a reload (best effort) -----------------
  var store = null;   // a promise of the database, or null without IndexedDB
  if (window.indexedDB) {
    store = new Promise(function (resolve) {
      var request = indexedDB.open("sunvote-recording", 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore("chunks", { keyPath: ["url", "seq"] });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { resolve(null); };
    });
  }
  function keep(item) {
    if (!store) { return; }
    store.then(function (db) {
      if (!db) { return; }
      db.transaction("chunks", "readwrite").objectStore("chunks").put({
        url: url, seq: item.seq, prev: item.prev, sha: item.sha, blob: item.blob,
        first: item.first, type: item.type });
    }).catch(function () {});
  }
  function forget(seq) {
    if (!store) { return; }
    store.then(function (db) {
      if (db) { db.transaction("chunks", "readwrite").objectStore("chunks").delete([url, seq]); }
    }).catch(function () {});
  }
  function kept() {
    // This meeting's chunks left by an earlier page, in order (none without IndexedDB).
    if (!store) { return Promise.resolve([]); }
    return store.then(function (db) {
      if (!db) { return []; }
      return new Promise(function (resolve) {
        var range = IDBKeyRange.bound([url, 0], [url, Number.MAX_SAFE_INTEGER]);
        var request = db.transaction("chunks").objectStore("chunks").getAll(range);
        request.onsuccess = function () { resolve(request.result || []); };
        request.onerror = function () { resolve([]); };
      });
    }).catch(function () { return []; });
  }
  function clearKept(items) { items.forEach(function (item) { forget(item.seq); }); }

  function pickType() {
    var types = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm",
                 "video/mp4"];
    for (var i = 0; i < types.length; i++) {
      if (MediaRecorder.isTypeSupported(types[i])) { return types[i]; }
    }
    return "";
  }

  function start(stream) {
    if (stopped) { return; }
    var mine = ++run;
    var first = true;
    var type = pickType();
    // 4G-friendly: about 400 kbit/s of video and 32 kbit/s of sound (docs/performance.md)
    recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 400000,
                                           audioBitsPerSecond: 32000 });
    recorder.ondataavailable = function (event) {
      if (mine !== run || !event.data || !event.data.size) { return; }
      var blob = event.data;
      var isFirst = first;
      first = false;
      var contentType = (recorder.mimeType || type || "video/webm");
      hashing = hashing.then(function () {
        return blob.arrayBuffer();
      }).then(function (buffer) {
        return crypto.subtle.digest("SHA-256", buffer);
      }).then(function (digest) {
        if (mine !== run) { return; }
        var sha = hex(digest);
        var item = { seq: next, prev: prev, sha: sha, blob: blob, first: isFirst,
                     type: contentType };
        queue.push(item);
        keep(item);
        next += 1;
        prev = sha;
        pump();
      });
    };
    recorder.start(CHUNK_MS);
    if (sign) { sign.hidden = false; }
    document.body.classList.add("recording");
    progress();
  }

  function stop(message) {
    stopped = true;
    run += 1;
    clearKept(queue);
    queue = [];
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }
    if (sign) { sign.hidden = true; }
    document.body.classList.remove("recording");
    show(message);
  }

  function resync(tail) {
    // The server's chain stands elsewhere: start a new recorder run from there.
    run += 1;
    clearKept(queue);
    queue = [];
    next = tail.next_seq;
    prev = tail.last_sha256;
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }
    show(format(status.getAttribute("data-resumed"), { seq: next }));
    start(window.sunvoteHallStream);
  }

  function pump() {
    if (sending || !queue.length || stopped) { return; }
    sending = true;
    var item = queue[0];
    fetch(url, {
      method: "POST", credentials: "same-origin", body: item.blob,
      headers: { "X-CSRFToken": csrf, "Content-Type": item.type, "Accept": "application/json",
                 "X-Recording-Seq": String(item.seq), "X-Recording-Prev": item.prev,
                 "X-Recording-SHA256": item.sha, "X-Recording-First": item.first ? "1" : "0" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    }).then(function (answer) {
      sending = false;
      var error = answer.body && answer.body.error;
      if (answer.status === 200) {
        if (queue[0] === item) { queue.shift(); }
        forget(item.seq);
        sent += 1;
        delay = 1000;
        progress();
        pump();
        return;
      }
      if (error && error.rule === "recording.meeting_state") {
        stop(status.getAttribute("data-ended"));
        return;
      }
      if (error && answer.body.tail &&
          ["recording.order", "recording.chain", "recording.duplicate"].indexOf(error.rule) >= 0) {
        resync(answer.body.tail);
        return;
      }
      if (error && (error.rule === "recording.size" || error.rule === "recording.content_type")) {
        // never taken as it is: drop it and let the next chunk resynchronise the chain
        queue.shift();
        forget(item.seq);
        pump();
        return;
      }
      retry();   // 5xx, 429, a garbled hash: the same chunk again, later
    }).catch(function () {
      sending = false;
      show(status.getAttribute("data-offline"));
      retry();
    });
  }

  function retry() {
    setTimeout(pump, delay);
    delay = Math.min(delay * 2, 30000);
  }

  window.addEventListener("online", function () { delay = 1000; pump(); });

  function begin(stream) {
    // Chunks an earlier page left that continue the server's chain go up first; the new
    // recorder run continues after them. Others (the server moved on) are dropped.
    kept().then(function (items) {
      var fits = [];
      var seq = next;
      var last = prev;
      items.sort(function (a, b) { return a.seq - b.seq; }).forEach(function (item) {
        if (item.seq === seq && item.prev === last) {
          fits.push({ seq: item.seq, prev: item.prev, sha: item.sha, blob: item.blob,
                      first: item.first, type: item.type });
          seq += 1;
          last = item.sha;
        } else {
          forget(item.seq);
        }
      });
      queue = fits.concat(queue);
      next = seq;
      prev = last;
      start(stream);
      pump();
    });
  }
  if (window.sunvoteHallStream) {
    begin(window.sunvoteHallStream);
  } else {
    document.addEventListener("sunvote:hall-stream", function (event) {
      begin(event.detail.stream);
    }, { once: true });
  }
}());
