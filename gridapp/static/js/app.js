// gridapp's only script: toasts from htmx responses. Everything works without it.
(function () {
  "use strict";
  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) { return; }
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "success");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }
  document.addEventListener("gridapp:toast", function (evt) {
    var d = evt.detail || {};
    showToast(d.message, d.level);
  });
  // Flashed messages rendered with the page fade away after a while.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (el) {
      setTimeout(function () { el.remove(); }, 8000);
    });
  });
})();
