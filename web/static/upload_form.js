// The upload form, resumable (web/routes/upload.py): declare the files, then send each in
// 4 MiB chunks at the offset the server reports. When the server goes away (a restart,
// the network), wait and ask it the offset again (HEAD) and go on from there; a page
// reloaded with the same files chosen continues the same upload (localStorage).
// Without JavaScript the form posts the files in one request instead.
"use strict";
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.Blob || !Blob.prototype.slice) return;
  var CHUNK = 4 * 1024 * 1024;
  var lang = form.getAttribute("data-lang") || "both";
  var status = document.getElementById("upload-progress");
  var bar = status ? status.querySelector("progress") : null;
  var note = document.getElementById("upload-note");
  var csrf = form.querySelector('input[name="csrf"]').value;
  function say(hi, en) {
    var text = lang === "hi" ? hi : lang === "en" ? en : hi + " / " + en;
    if (note) note.textContent = text;
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function showErrors(list) {
    var box = document.getElementById("upload-errors-js");
    box.innerHTML = "";
    list.forEach(function (e) {
      var li = document.createElement("li");
      li.textContent = lang === "hi" ? e.hi : lang === "en" ? e.en : e.hi + " / " + e.en;
      box.appendChild(li);
    });
    box.hidden = false;
    box.focus();
  }
  function headers(extra) {
    var h = {"X-CSRF-Token": csrf};
    for (var k in extra) h[k] = extra[k];
    return h;
  }
  // One request, tried again (after 1, 2, 4 ... 15 s) while the server cannot be reached
  // or answers 5xx; other answers are returned as they are.
  async function patient(url, options) {
    var wait = 1000;
    for (;;) {
      try {
        var r = await fetch(url, Object.assign({credentials: "same-origin"}, options));
        if (r.status < 500) return r;
      } catch (e) { /* the server is away: wait for it */ }
      say("सर्वर से संपर्क टूटा; फिर से जुड़ रहे हैं…", "Lost the server; reconnecting…");
      await sleep(wait);
      wait = Math.min(wait * 2, 15000);
    }
  }
  async function offsetOf(url) {
    var r = await patient(url, {method: "HEAD", headers: headers({})});
    if (r.status !== 200) throw new Error("offset " + r.status);
    return parseInt(r.headers.get("Upload-Offset"), 10) || 0;
  }
  async function send(file, url, done, total) {
    var offset = await offsetOf(url);
    while (offset < file.size) {
      var chunk = file.slice(offset, Math.min(offset + CHUNK, file.size));
      var r = await patient(url, {method: "PATCH", body: chunk, headers: headers({
        "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream"})});
      if (r.status === 204 || r.status === 409) {
        offset = parseInt(r.headers.get("Upload-Offset"), 10);
        if (isNaN(offset)) offset = await offsetOf(url);
      } else {
        throw await r.json();
      }
      if (bar) bar.value = done + offset;
      say("भेजा गया " + Math.round(100 * (done + offset) / total) + "%",
          "Sent " + Math.round(100 * (done + offset) / total) + "%");
    }
  }
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var files = Array.prototype.slice.call(form.querySelector("#files").files);
    var facts = {};
    ["thana", "register", "year", "file_no", "title"].forEach(function (k) { facts[k] = form.elements[k].value; });
    facts.files = files.map(function (f) { return {name: f.name, size: f.size}; });
    var key = "abhilekh-upload:" + JSON.stringify([facts, files.map(function (f) { return f.lastModified; })]);
    var total = files.reduce(function (s, f) { return s + f.size; }, 0);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    if (status) { status.hidden = false; }
    if (bar) { bar.max = total || 1; bar.value = 0; }
    try {
      var job = null;
      try { job = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { job = null; }
      if (job) {  // the same files again: continue that upload if the server still has it
        var probe = await patient(job.files[0].url, {method: "HEAD", headers: headers({})});
        if (probe.status !== 200) job = null;
      }
      if (!job) {
        var r = await patient("/upload/resumable", {method: "POST", body: JSON.stringify(facts),
          headers: headers({"Content-Type": "application/json"})});
        var body = await r.json();
        if (r.status !== 201) { showErrors(body.errors || []); button.disabled = false; return; }
        job = body;
        try { localStorage.setItem(key, JSON.stringify(job)); } catch (e) { /* private mode */ }
      }
      var done = 0;
      for (var i = 0; i < files.length; i++) {
        await send(files[i], job.files[i].url, done, total);
        done += files[i].size;
      }
      var fin = await patient("/upload/" + job.id + "/finish", {method: "POST", headers: headers({})});
      var result = await fin.json();
      if (fin.status !== 200) { showErrors(result.errors || []); button.disabled = false; return; }
      try { localStorage.removeItem(key); } catch (e) { /* nothing kept */ }
      window.location.assign(result.status_url);
    } catch (err) {
      showErrors(err && err.errors ? err.errors : [{hi: "अपलोड रुक गया; पृष्ठ दोबारा खोलें", en: "The upload stopped; reload the page"}]);
      button.disabled = false;
    }
  });
})();
