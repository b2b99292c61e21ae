// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Ecosystem map: a tooltip that follows the pointer and keyboard focus, and a kind filter.
  function setUpMap() {
    var svg = document.getElementById("ecomap");
    var tip = document.getElementById("map-tip");
    if (!svg || !tip) return;
    var wrap = svg.parentNode;
    function show(pt) {
      tip.textContent = pt.getAttribute("data-name");
      var meta = document.createElement("span");
      meta.textContent = pt.getAttribute("data-meta");
      tip.appendChild(meta);
      var c = pt.querySelector("circle").getBoundingClientRect();
      var w = wrap.getBoundingClientRect();
      tip.hidden = false;
      tip.style.left = Math.min(c.left - w.left + 12, w.width - tip.offsetWidth - 8) + "px";
      tip.style.top = (c.top - w.top - tip.offsetHeight - 6) + "px";
    }
    function hide() { tip.hidden = true; }
    svg.querySelectorAll(".pt").forEach(function (pt) {
      pt.addEventListener("mouseenter", function () { show(pt); });
      pt.addEventListener("focus", function () { show(pt); });
      pt.addEventListener("mouseleave", hide);
      pt.addEventListener("blur", hide);
      var t = pt.querySelector("title");  // the native tooltip would double ours
      if (t) { pt.setAttribute("aria-label", t.textContent); t.remove(); }
    });
    var legend = document.getElementById("legend");
    if (legend) {
      legend.addEventListener("change", function (e) {
        var kind = e.target.value, on = e.target.checked;
        svg.querySelectorAll('.pt[data-kind="' + kind + '"]').forEach(function (pt) {
          pt.classList.toggle("hidden", !on);
        });
      });
    }
  }

  // Disable a form's submit button while it is being sent (no double shortlisting).
  function guardForms() {
    document.querySelectorAll("form[method=post]").forEach(function (f) {
      f.addEventListener("submit", function () {
        var b = f.querySelector("button[type=submit]");
        if (b) setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setUpMap(); guardForms(); });
})();
