// gridapp's only script: toasts from htmx responses, and a box that narrows a long place picker.
// Everything works without it.
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

  // A long <select> of places comes with a search box, hidden (useless without this script):
  // shown here, typing keeps the options whose words, or whose group's words, hold every word
  // typed. Options in no group (the "choose" line, the inspected place) and the chosen one stay.
  function matches(words, text) {
    text = text.toLowerCase();
    return words.every(function (w) { return text.indexOf(w) !== -1; });
  }
  function narrow(box, select, all) {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var chosen = select.value;
    select.textContent = "";
    all.forEach(function (node) {
      if (node.tagName !== "OPTGROUP") {
        select.appendChild(node.cloneNode(true));
        return;
      }
      var group = node.cloneNode(false);
      Array.prototype.forEach.call(node.children, function (option) {
        if (option.value === chosen || matches(words, node.label + " " + option.text)) {
          group.appendChild(option.cloneNode(true));
        }
      });
      if (group.children.length) { select.appendChild(group); }
    });
    select.value = chosen;
  }
  function setUpFilters() {
    document.querySelectorAll("input[data-filter-for]:not([data-ready])").forEach(function (box) {
      var select = document.getElementById(box.getAttribute("data-filter-for"));
      if (!select) { return; }
      var all = Array.prototype.map.call(select.children, function (node) { return node.cloneNode(true); });
      box.setAttribute("data-ready", "1");
      box.hidden = false;
      box.addEventListener("input", function () { narrow(box, select, all); });
    });
  }
  document.addEventListener("DOMContentLoaded", setUpFilters);
  document.addEventListener("htmx:afterSettle", setUpFilters);
  document.addEventListener("click", function (evt) {
    var toast = evt.target.closest && evt.target.closest("#toasts .toast");
    if (toast) { toast.remove(); }
  });
})();
