// abhilekh: small progressive enhancements; every page works without them.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  // Filters: on a wide screen the filter box is always open (the <details> folds it
  // away only on a phone, where the form would fill the first screen).
  var box = document.querySelector("details.filters-box");
  if (box && window.matchMedia("(min-width: 40.01rem)").matches) box.open = true;
  if (window.abhilekhViewer) window.abhilekhViewer();
});
