/* The hall device's camera and microphone (issue 19). Opens them once, with caps that suit a
   4G uplink (640x360 at 15 frames a second; echo cancellation for the hall's loudspeakers),
   shows the local preview, and hands the stream to the page's other scripts:
   window.sunvoteHallStream and the "sunvote:hall-stream" event (meeting_video.js sends it to
   the phones; recording.js records it). A script loaded later reads window.sunvoteHallStream. */
(function () {
  "use strict";
  var preview = document.getElementById("hall-local");
  var status = document.getElementById("hall-camera-status");
  var errorBox = document.getElementById("hall-camera-error");
  var ready = document.getElementById("hall-camera-ready");
  if (!preview) { return; }

  var CONSTRAINTS = {
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true,
             channelCount: 1 },
    video: { width: { ideal: 640, max: 1280 }, height: { ideal: 360, max: 720 },
             frameRate: { ideal: 15, max: 24 }, facingMode: "user" }
  };

  function fail(kind) {
    status.hidden = true;
    errorBox.textContent = errorBox.getAttribute("data-" + kind);
    errorBox.hidden = false;
    document.body.classList.add("no-camera");
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    fail("unsupported");
    return;
  }
  navigator.mediaDevices.getUserMedia(CONSTRAINTS).then(function (stream) {
    preview.srcObject = stream;
    var playing = preview.play();
    if (playing && playing.catch) { playing.catch(function () {}); }
    status.textContent = ready.textContent;
    window.sunvoteHallStream = stream;
    document.dispatchEvent(new CustomEvent("sunvote:hall-stream", { detail: { stream: stream } }));
  }).catch(function (error) {
    var name = error && error.name;
    fail(name === "NotFoundError" || name === "OverconstrainedError" ? "missing" : "denied");
  });
}());
