// An upload's page: while the job is queued or running, ask for its state every few
// seconds and reload once when it changes (no reloading otherwise: WCAG 2.2.1).
"use strict";
(function () {
  var box = document.getElementById("upload-status");
  if (!box) return;
  var state = box.getAttribute("data-state"), url = box.getAttribute("data-json");
  if (state === "done" || state === "failed") return;
  var last = null;
  function poll() {
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (v) {
      var key = v.state + ":" + v.done;
      if (v.state !== state) { window.location.reload(); return; }
      if (last !== null && key !== last) {
        var p = document.getElementById("job-progress");
        if (p && v.state === "running") {
          var bar = p.querySelector("progress");
          if (bar) bar.value = v.done || 0;
          p.firstChild.textContent = "OCR " + (v.done || 0) + (v.expected ? " / " + v.expected : "") + " ";
        }
      }
      last = key;
      setTimeout(poll, 2000);
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
