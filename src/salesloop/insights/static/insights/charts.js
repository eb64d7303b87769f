// Dashboard charts on a narrow screen (a phone): a figure built in Python may carry "narrow"
// layout overrides (insights/charts.py: legend below the plot, wrapped or tilted labels). This
// runs before the page's charts are drawn (deferred, after the page is parsed, before
// DOMContentLoaded when app.js draws them) and merges them into the figures; when the screen
// turns (a phone rotated), charts already drawn are laid out again. A figure may also carry
// "narrow_below" (pixels): it takes its narrow layout whenever the chart itself is narrower,
// as in a half-width card on a laptop, and again when the window is resized.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 600px)");

  function merge(base, extra) {
    var out = {};
    Object.keys(base || {}).forEach(function (k) { out[k] = base[k]; });
    Object.keys(extra || {}).forEach(function (k) {
      var v = extra[k];
      var isObject = v && typeof v === "object" && !Array.isArray(v);
      out[k] = isObject && out[k] && typeof out[k] === "object" ? merge(out[k], v) : v;
    });
    return out;
  }

  function isNarrow(el, figure) {
    if (narrow.matches) return true;
    var width = el.clientWidth;
    return Boolean(figure.narrow_below && width > 0 && width < figure.narrow_below);
  }

  function layoutFor(el, figure) {
    var small = Boolean(figure.narrow) && isNarrow(el, figure);
    el.dataset.narrowNow = small ? "1" : "0";
    return small ? merge(figure.layout, figure.narrow) : figure.layout;
  }

  function adapt(root) {
    (root && root.querySelectorAll ? root : document).querySelectorAll(".chart[data-figure]").forEach(function (el) {
      if (el.dataset.rendered || el.dataset.wide) return;
      var figure = JSON.parse(el.dataset.figure);
      if (!figure.narrow) return;
      el.dataset.wide = el.dataset.figure;  // the figure as built, for a later change of width
      el.dataset.figure = JSON.stringify({ data: figure.data, layout: layoutFor(el, figure) });
    });
  }

  adapt(document);
  document.addEventListener("htmx:beforeSettle", function (event) { adapt(event.detail.elt); });
  function relayout(all) {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll(".chart[data-wide][data-rendered]").forEach(function (el) {
      var figure = JSON.parse(el.dataset.wide);
      var was = el.dataset.narrowNow;
      var layout = layoutFor(el, figure);
      if (all || el.dataset.narrowNow !== was) Plotly.react(el, el.data, layout);
    });
  }

  narrow.addEventListener("change", function () { relayout(true); });
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { relayout(false); }, 150);
  });
})();
