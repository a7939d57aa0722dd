// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var body = document.body;
  var copyLabel = body.getAttribute("data-copy") || "Copy";
  var copiedLabel = body.getAttribute("data-copied") || "Copied";

  // A copy button next to each full hash (where the clipboard API exists).
  if (navigator.clipboard && window.isSecureContext) {
    document.querySelectorAll("[data-copyable]").forEach(function (el) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = copyLabel;
      button.setAttribute("aria-label", copyLabel + " " + el.getAttribute("data-copyable"));
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(el.getAttribute("data-copyable")).then(function () {
          button.textContent = copiedLabel;
          setTimeout(function () { button.textContent = copyLabel; }, 1500);
        }, function () { /* clipboard refused: nothing to do */ });
      });
      el.insertAdjacentElement("afterend", button);
    });
  }

  // The trace form: trim the input and say what is wrong before a round trip.
  var input = document.getElementById("q");
  if (input && input.form) {
    input.form.addEventListener("submit", function () { input.value = input.value.trim(); });
  }

  // Times in the reader's own time zone, keeping the server's text as the fallback.
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d.getTime())) {
      el.title = el.textContent + " (UTC+8)";
      el.textContent = d.toLocaleString(document.documentElement.lang || undefined, { hour12: false });
    }
  });
})();
