// abhilekh: small progressive enhancements; the page works without them.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  // A filter applies as soon as it is chosen (the Apply button remains for no-JS).
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.submit();
    });
  });
});
