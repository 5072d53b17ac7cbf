{% raw %}
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var differ = document.getElementById("f-differ");
  var verdict = document.getElementById("f-verdict");
  var status = document.getElementById("f-status");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row"));
  form.hidden = false;

  function apply() {
    var v = verdict.value, shown = 0;
    rows.forEach(function (r) {
      var show = (!differ.checked || r.getAttribute("data-differs") === "yes") &&
                 (v === "all" || (" " + r.getAttribute("data-verdicts") + " ").indexOf(" " + v + " ") >= 0);
      r.hidden = !show;
      if (show) { shown++; }
    });
    status.textContent = shown + " of " + rows.length + " rules shown";
  }

  function writeHash() {
    var parts = [];
    if (differ.checked) { parts.push("differ"); }
    if (verdict.value !== "all") { parts.push("verdict=" + verdict.value); }
    try {
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    } catch (e) { /* some browsers refuse history changes on file:// */ }
  }

  // "#differ&verdict=FAIL" selects the filters.
  function readHash() {
    var parts = decodeURIComponent(location.hash.replace(/^#/, "")).split("&");
    differ.checked = parts.indexOf("differ") >= 0;
    verdict.value = "all";
    parts.forEach(function (p) {
      var kv = p.split("=");
      if (kv[0] === "verdict") {
        for (var i = 0; i < verdict.options.length; i++) {
          if (verdict.options[i].value === kv[1]) { verdict.value = kv[1]; }
        }
      }
    });
    apply();
  }

  differ.addEventListener("change", function () { apply(); writeHash(); });
  verdict.addEventListener("change", function () { apply(); writeHash(); });
  window.addEventListener("hashchange", readHash);
  readHash();
  document.documentElement.setAttribute("data-ready", "yes");
})();
{% endraw %}
