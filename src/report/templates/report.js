{% raw %}
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var verdict = document.getElementById("f-verdict");
  var level = document.getElementById("f-level");
  var status = document.getElementById("f-status");
  var rules = Array.prototype.slice.call(document.querySelectorAll("article.rule"));
  var families = Array.prototype.slice.call(document.querySelectorAll("section.family"));
  var details = Array.prototype.slice.call(document.querySelectorAll("details"));
  form.hidden = false;

  function select(sel, value) {
    for (var i = 0; i < sel.options.length; i++) {
      if (sel.options[i].value === value) { sel.value = value; return; }
    }
    sel.value = "all";
  }

  function apply() {
    var v = verdict.value, l = level.value, shown = 0;
    rules.forEach(function (r) {
      var show = (v === "all" || r.getAttribute("data-verdict") === v) &&
                 (l === "all" || r.getAttribute("data-level") === l);
      r.hidden = !show;
      if (show) { shown++; }
    });
    families.forEach(function (f) { f.hidden = !f.querySelector("article.rule:not([hidden])"); });
    status.textContent = shown + " of " + rules.length + " rules shown";
  }

  function writeHash() {
    var parts = [];
    if (verdict.value !== "all") { parts.push("verdict=" + verdict.value); }
    if (level.value !== "all") { parts.push("level=" + level.value); }
    try {
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    } catch (e) { /* some browsers refuse history changes on file:// */ }
  }

  // "#verdict=FAIL&level=MUST" selects filters ("&open" also expands the rules shown);
  // "#rule-ID" opens that rule.
  function readHash() {
    var hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    if (hash.indexOf("rule-") === 0 || hash.indexOf("explain-") === 0) {
      var target = document.getElementById(hash);
      for (var el = target; el; el = el.parentElement) {
        if (el.tagName === "DETAILS") { el.open = true; }
      }
      if (target) { target.scrollIntoView(); }
      return;
    }
    var want = { verdict: "all", level: "all" };
    hash.split("&").forEach(function (kv) {
      var pair = kv.split("=");
      if (pair.length === 2 && want.hasOwnProperty(pair[0])) { want[pair[0]] = pair[1]; }
    });
    select(verdict, want.verdict);
    select(level, want.level);
    apply();
    if (hash.split("&").indexOf("open") >= 0) { expandShown(); }
  }

  function expandShown() {
    rules.forEach(function (r) { if (!r.hidden) { r.querySelector("details").open = true; } });
  }

  verdict.addEventListener("change", function () { apply(); writeHash(); });
  level.addEventListener("change", function () { apply(); writeHash(); });
  window.addEventListener("hashchange", readHash);
  document.getElementById("f-open").addEventListener("click", expandShown);
  document.getElementById("f-close").addEventListener("click", function () {
    details.forEach(function (d) { d.open = false; });
  });

  // Printing shows everything: open every details, and put them back afterwards.
  var wasOpen = [];
  window.addEventListener("beforeprint", function () {
    wasOpen = details.map(function (d) { return d.open; });
    details.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    details.forEach(function (d, i) { d.open = wasOpen[i]; });
  });

  readHash();
  document.documentElement.setAttribute("data-ready", "yes");
})();
{% endraw %}
