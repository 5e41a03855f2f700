// The page viewer: zoom (buttons, + / - / 0 keys, Ctrl+wheel, pinch on a phone is the
// browser's own) and pan (drag, arrow keys, touch scroll) of the large page image. The
// boxes are an SVG in the same frame as the image, so they stay on the words at any zoom.
"use strict";
window.abhilekhViewer = function () {
  var view = document.getElementById("zoom-view");
  var inner = document.getElementById("zoom-inner");
  var label = document.getElementById("zoom-level");
  if (!view || !inner) return;
  var scale = 1, MIN = 1, MAX = 6;
  function apply(next, cx, cy) {
    next = Math.min(MAX, Math.max(MIN, next));
    // keep the point under the cursor (or the centre) where it is
    var rect = view.getBoundingClientRect();
    var px = (cx === undefined ? rect.width / 2 : cx - rect.left);
    var py = (cy === undefined ? rect.height / 2 : cy - rect.top);
    var fx = (view.scrollLeft + px) / (inner.offsetWidth || 1);
    var fy = (view.scrollTop + py) / (inner.offsetHeight || 1);
    scale = next;
    inner.style.width = (scale * 100) + "%";
    view.scrollLeft = fx * inner.offsetWidth - px;
    view.scrollTop = fy * inner.offsetHeight - py;
    if (label) label.textContent = Math.round(scale * 100) + "%";
    view.classList.toggle("zoomed", scale > 1);
  }
  document.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      var how = b.getAttribute("data-zoom");
      apply(how === "in" ? scale * 1.5 : how === "out" ? scale / 1.5 : 1);
    });
  });
  view.addEventListener("keydown", function (e) {
    if (e.key === "+" || e.key === "=") { apply(scale * 1.5); e.preventDefault(); }
    else if (e.key === "-" || e.key === "_") { apply(scale / 1.5); e.preventDefault(); }
    else if (e.key === "0") { apply(1); e.preventDefault(); }
  });
  view.addEventListener("wheel", function (e) {
    if (!e.ctrlKey) return;
    e.preventDefault();
    apply(scale * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX, e.clientY);
  }, {passive: false});
  view.addEventListener("dblclick", function (e) { apply(scale * 2, e.clientX, e.clientY); });
  var drag = null;
  view.addEventListener("pointerdown", function (e) {
    if (e.pointerType !== "mouse" || scale === 1) return;
    drag = {x: e.clientX, y: e.clientY, l: view.scrollLeft, t: view.scrollTop};
    view.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  view.addEventListener("pointermove", function (e) {
    if (!drag) return;
    view.scrollLeft = drag.l - (e.clientX - drag.x);
    view.scrollTop = drag.t - (e.clientY - drag.y);
  });
  view.addEventListener("pointerup", function () { drag = null; });
  window.abhilekhZoom = apply;  // for the tests
};
