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
  // Flashed messages rendered with the page fade away after a while — on a first load and after
  // every page htmx swaps in (a boosted link or form fires no DOMContentLoaded) — and a tap removes
  // a message at once, so it never sits over what the person came to read.
  function fadeFlashes() {
    document.querySelectorAll("#toasts .toast:not([data-fading])").forEach(function (el) {
      el.setAttribute("data-fading", "1");
      setTimeout(function () { el.remove(); }, 8000);
    });
  }
  document.addEventListener("DOMContentLoaded", fadeFlashes);
  document.addEventListener("htmx:afterSettle", fadeFlashes);
  document.addEventListener("click", function (evt) {
    var toast = evt.target.closest && evt.target.closest("#toasts .toast");
    if (toast) { toast.remove(); }
  });
})();
