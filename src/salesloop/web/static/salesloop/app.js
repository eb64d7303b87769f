// salesloop: small progressive enhancements. Everything also works without JavaScript.
(function () {
  "use strict";

  // Pipeline board: drag a card onto another stage column to move the deal.
  // The drop submits the card's own move form (HTMX), so the server records the stage change.
  function setupBoard(root) {
    var board = root.querySelector ? root.querySelector("#board") : null;
    if (!board && root.id === "board") board = root;
    if (!board || board.dataset.dndReady) return;
    board.dataset.dndReady = "1";
    board.addEventListener("dragstart", function (event) {
      var card = event.target.closest(".board-card");
      if (!card) return;
      event.dataTransfer.setData("text/plain", card.dataset.opportunity);
      event.dataTransfer.effectAllowed = "move";
      card.classList.add("dragging");
    });
    board.addEventListener("dragend", function (event) {
      var card = event.target.closest(".board-card");
      if (card) card.classList.remove("dragging");
    });
    board.addEventListener("dragover", function (event) {
      var col = event.target.closest(".board-col");
      if (!col) return;
      event.preventDefault();
      col.classList.add("drop-target");
    });
    board.addEventListener("dragleave", function (event) {
      var col = event.target.closest(".board-col");
      if (col && !col.contains(event.relatedTarget)) col.classList.remove("drop-target");
    });
    board.addEventListener("drop", function (event) {
      var col = event.target.closest(".board-col");
      if (!col) return;
      event.preventDefault();
      col.classList.remove("drop-target");
      var id = event.dataTransfer.getData("text/plain");
      var card = document.getElementById("card-" + id);
      if (!card) return;
      var select = card.querySelector("select[name=stage]");
      if (!select || select.value === col.dataset.stage) return;
      select.value = col.dataset.stage;
      col.querySelector(".board-cards").prepend(card);
      htmx.trigger(select.form, "submit");
    });
  }

  // Submitting or approving a plan whose checks ("Before you submit") still list something
  // asks first; the checks are read when the button is pressed (edits update them in place).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm-unready]") : null;
    if (!button) return;
    if (document.querySelector("#readiness:not(.is-ready) li") && !window.confirm(button.dataset.confirmUnready)) {
      event.preventDefault();
    }
  });

  // An export link of a list exports what the list shows: the filters as they are set when it
  // is clicked (they change the table in place, so the link written with the page kept the
  // filters of the page's first load and exported everything).
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-export-filters]") : null;
    var form = link ? document.querySelector(link.dataset.exportFilters) : null;
    if (!form) return;
    var url = new URL(link.getAttribute("href"), window.location.href);
    var query = new URLSearchParams();
    ["kind", "format"].forEach(function (key) {
      if (url.searchParams.has(key)) query.set(key, url.searchParams.get(key));
    });
    new FormData(form).forEach(function (value, key) {
      if (value !== "" && key !== "page") query.append(key, value);
    });
    link.setAttribute("href", url.pathname + "?" + query.toString());
  });

  // A follow-up marked done leaves its list: the counts of its kind (overdue, due today, …) on
  // the page go down with it, and a list left empty says so (the text the page would show,
  // kept on the list as data-empty).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var row = event.detail.target;
    if (event.detail.xhr.status >= 300 || !row.matches || !row.matches("li[id^=followup-]")) return;
    // A manager's own follow-up is also one of the team's: the team's count (written with
    // thousands separators) carries the same data-count and goes down too.
    document.querySelectorAll('[data-count="' + row.dataset.bucket + '"]').forEach(function (count) {
      var text = count.textContent.trim();
      var left = Math.max(0, parseInt(text.replace(/\D/g, ""), 10) - 1);
      var sep = (text.match(/\D/) || [""])[0];
      count.textContent = sep ? String(left).replace(/\B(?=(\d{3})+(?!\d))/g, sep) : String(left);
    });
    var list = row.parentElement;
    if (list && list.children.length === 1 && list.dataset.empty) {
      var empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = list.dataset.empty;
      setTimeout(function () { list.replaceWith(empty); }, 0);
    }
  });

  // A move re-renders the board: tell the server how many cards each column had loaded
  // ("Show more"), so that the cards the user brought in stay on it.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt.closest ? event.detail.elt.closest(".board-move") : null;
    var board = form && form.closest("#board");
    if (!board) return;
    var shown = [];
    board.querySelectorAll(".board-col").forEach(function (col) {
      shown.push(col.dataset.stage + ":" + col.querySelectorAll(".board-card").length);
    });
    event.detail.parameters.shown = shown.join(",");
  });

  // Charts: figure specs are built in Python and rendered by Plotly.js from the plotly package.
  function renderCharts(root) {
    if (typeof Plotly === "undefined") return;
    (root.querySelectorAll ? root : document).querySelectorAll(".chart[data-figure]").forEach(function (el) {
      if (el.dataset.rendered) return;
      el.dataset.rendered = "1";
      var fig = JSON.parse(el.dataset.figure);
      Plotly.newPlot(el, fig.data, fig.layout, { displayModeBar: false, responsive: true, locale: document.documentElement.lang });
    });
  }

  // Printing lays the page out again at the paper's width right after "beforeprint", too soon
  // for Plotly's resize (it redraws 100 ms later: printed charts kept their screen width, two
  // thirds of a card that is wider on paper, or wider than the sheet). So, before printing, a
  // chart wider than the sheet's text is drawn again at that width (synchronously), and every
  // chart is made to scale: its layers get a viewBox of the size drawn, and the print
  // stylesheet sizes them to the card's width in their proportions; back afterwards.
  // The sheet's text width follows @page in app.css: A4 portrait less 10 mm a side (718 px),
  // A4 landscape less 10 mm a side (1,047 px) for the pages printed across.
  var PRINTED_ACROSS = ".content:has(.tree-table, .history-table, .my-table, .dash-filters)";
  function scalableCharts() {
    if (typeof Plotly === "undefined") return;
    var across = document.querySelector(PRINTED_ACROSS) !== null;
    var sheet = (across ? 1047 : 718) - 28;  // less a card's padding and border
    // every chart Plotly has drawn (a report draws its own: not only those marked rendered)
    document.querySelectorAll(".chart.js-plotly-plot").forEach(function (el) {
      var first = el.querySelector("svg.main-svg");
      if (!first || el.offsetParent === null) return;
      if (Number(first.getAttribute("width")) > sheet) {
        el.dataset.printRedrawn = "1";
        Plotly.relayout(el, { width: sheet });
      }
      // the size Plotly drew it at (its container's own height can read 0)
      var width = Number(first.getAttribute("width")), height = Number(first.getAttribute("height"));
      if (!width || !height) return;
      el.querySelectorAll("svg.main-svg").forEach(function (svg) {
        svg.setAttribute("viewBox", "0 0 " + width + " " + height);
      });
      el.style.setProperty("--print-ratio", String(width / height));
      el.classList.add("print-scaled");
    });
  }
  function screenCharts() {
    document.querySelectorAll(".chart.print-scaled").forEach(function (el) {
      el.querySelectorAll("svg.main-svg").forEach(function (svg) { svg.removeAttribute("viewBox"); });
      el.style.removeProperty("--print-ratio");
      el.classList.remove("print-scaled");
      if (el.dataset.printRedrawn) {
        delete el.dataset.printRedrawn;
        Plotly.relayout(el, { width: null });  // its container's width again
      }
    });
  }
  window.addEventListener("beforeprint", scalableCharts);
  window.addEventListener("afterprint", screenCharts);

  // Target tree: a row whose values were changed is marked, which shows its Save / Revise.
  document.documentElement.classList.add("js");
  function markDirty(event) {
    var input = event.target;
    if (!input.form || !input.form.classList.contains("target-edit")) return;
    var row = input.closest("tr");
    if (row) row.classList.add("dirty");
  }
  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);

  // a figure as typed: 8.5, 8.5%, 1,234.50, ¥120万, 0.5亿 (NaN when it is none)
  function typedNumber(text) {
    // thousands separators that do not group by three are a slip ("1,2,3" is not 123), as the
    // server reads it (common.money.typing_slip)
    var core = String(text).replace(/[%\s¥￥元万亿]/g, "").replace(/[,，]$/, "");
    if (/[,，]/.test(core) && !/^\d{1,3}([,，]\d{3})+(\.\d*)?$/.test(core)) return NaN;
    var t = String(text).replace(/[,，%\s¥￥元]/g, ""), scale = 1;
    if (/万$/.test(t)) { scale = 1e4; t = t.slice(0, -1); } else if (/亿$/.test(t)) { scale = 1e8; t = t.slice(0, -1); }
    if (t === "") return 0;
    if (!/^\d*\.?\d*$/.test(t)) return NaN;
    var v = parseFloat(t) * scale;
    return isFinite(v) && v >= 0 ? v : NaN;
  }

  // Target tree: the sums as typed. A team's "Σ" compares what its children add up to with its
  // target; while a child's (or the team's own) target is being typed, it counts the typed
  // figures (the saved sum plus what each visible child's typing changes), marked as not saved.
  function treeTarget(row) {
    var input = row.querySelector("input[name=target]");
    var saved = parseFloat(row.getAttribute("data-saved-target"));
    if (!input) return saved;
    if (input.value.trim() === "") return NaN;  // not a figure yet
    var typed = typedNumber(input.value);
    return isNaN(typed) ? NaN : typed;
  }
  function formatFigure(value, money) {
    var text = Math.abs(value).toLocaleString("en-US", { maximumFractionDigits: 2 });
    return (value < 0 ? "−" : "") + (money ? "¥" : "") + text;
  }
  function liveSum(parentPk) {
    var out = document.querySelector("[data-live-sum='" + parentPk + "']");
    var parent = document.querySelector("tr[data-pk='" + parentPk + "']");
    if (!out || !parent) return;
    if (!out.hasAttribute("data-server")) out.setAttribute("data-server", out.innerHTML);
    var sum = parseFloat(out.getAttribute("data-children-sum"));
    var changed = false, bad = false;
    document.querySelectorAll("tr[data-parent='" + parentPk + "']").forEach(function (child) {
      var saved = parseFloat(child.getAttribute("data-saved-target"));
      var now = treeTarget(child);
      if (isNaN(now)) { bad = true; return; }
      if (Math.abs(now - saved) > 0.0001) { sum += now - saved; changed = true; }
    });
    var own = treeTarget(parent);
    if (isNaN(own)) bad = true;
    else if (Math.abs(own - parseFloat(parent.getAttribute("data-saved-target"))) > 0.0001) changed = true;
    if (!changed || bad) {  // as saved (or a figure that is none yet): what the server said
      out.innerHTML = out.getAttribute("data-server");
      return;
    }
    var money = out.getAttribute("data-money") === "1";
    var gap = Math.round((own - sum) * 100) / 100;  // as the server writes it: what is left to split
    var span = document.createElement("span");
    span.className = gap === 0 ? "ok" : "gap";
    span.title = out.getAttribute("data-as-typed");
    var words = out.getAttribute(gap > 0 ? "data-left" : "data-over") || "%s";
    span.textContent = gap === 0 ? "Σ ✓ *" : "Σ " + formatFigure(sum, false) + " · " + words.replace("%s", formatFigure(Math.abs(gap), money)) + " *";
    out.replaceChildren(span);
  }
  // The chance of reaching a target being typed, read from the row's stored quantiles of its
  // forecast total as the server reads it (smart.probability_from: linear between them, beyond
  // the first and the last half-way to certainty).
  function chanceOf(value, totals, probs) {
    var below;
    if (value < totals[0]) below = probs[0] / 2;
    else if (value > totals[totals.length - 1]) below = 1 - (1 - probs[probs.length - 1]) / 2;
    else {
      for (var i = 1; i < totals.length; i++) {
        if (value <= totals[i]) {
          var span = totals[i] - totals[i - 1];
          below = span > 0 ? probs[i - 1] + (probs[i] - probs[i - 1]) * (value - totals[i - 1]) / span : probs[i];
          break;
        }
      }
    }
    return 1 - below;
  }
  function liveChance(row, input) {
    var out = row.querySelector(".live-chance");
    var table = row.closest("table");
    if (!out || !table || !row.dataset.chance) return;
    var value = typedNumber(input.value);
    var saved = parseFloat(row.getAttribute("data-saved-target"));
    // nothing typed yet, not a figure, or the figure saved: nothing to say
    if (!input.value.trim() || isNaN(value) || Math.abs(value - saved) < 0.0001) { out.hidden = true; return; }
    var totals = row.dataset.chance.split(",").map(Number);
    var probs = table.dataset.chanceProbs.split(",").map(Number);
    var chance = Math.round(chanceOf(value, totals, probs) * 100);
    out.textContent = table.dataset.chanceWords.replace("%s", chance + "%");
    out.hidden = false;
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.name !== "target" || !input.form || !input.form.classList.contains("target-edit")) return;
    var row = input.closest("tr[data-pk]");
    if (!row) return;
    liveChance(row, input);
    liveSum(row.getAttribute("data-pk"));  // the row's own children against what it now says
    if (row.getAttribute("data-parent")) liveSum(row.getAttribute("data-parent"));
  });

  // Target tree: Escape in a changed row puts back what is saved (as a spreadsheet undoes a cell
  // being typed), hides its Save / Revise and the typed sums; Enter saves it (the form's own).
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Escape" || !input.form || !input.form.classList.contains("target-edit")) return;
    var row = input.closest("tr");
    if (!row || !row.classList.contains("dirty")) return;
    row.querySelectorAll("input, select").forEach(function (field) {
      if (field.tagName === "SELECT") {
        Array.prototype.forEach.call(field.options, function (o) { o.selected = o.defaultSelected; });
      } else if (field.type === "checkbox") field.checked = field.defaultChecked;
      else if (field.type !== "hidden") field.value = field.defaultValue;
    });
    row.classList.remove("dirty");
    var target = row.querySelector("input[name=target]");
    if (target) target.dispatchEvent(new Event("input", { bubbles: true }));  // the sums again
    row.classList.remove("dirty");  // that input event marked it once more
    event.preventDefault();
  });

  // My targets: a figure being proposed says at once what it means — its change on the last
  // year's actual and against the top-down target ("+12% on the last 12 months · −8% against
  // the top-down target"), as the table's Change column does for the target.
  function signedPercent(ratio) {
    var whole = Math.round(Math.abs(ratio) * 100);  // half away from zero, as the pages round
    return (whole === 0 ? "" : ratio > 0 ? "+" : "−") + whole + "%";
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.name !== "value" || !input.form || !input.form.classList.contains("propose")) return;
    var form = input.form, out = form.querySelector(".proposal-change");
    if (!out) return;
    var value = typedNumber(input.value);
    var parts = [];
    if (input.value.trim() !== "" && !isNaN(value)) {
      var last = parseFloat(form.dataset.last), target = parseFloat(form.dataset.target);
      if (last > 0) parts.push(form.dataset.vsLast.replace("%s", signedPercent(value / last - 1)));
      if (target > 0) parts.push(form.dataset.vsTarget.replace("%s", signedPercent(value / target - 1)));
    }
    out.textContent = parts.join(" · ");
  });

  // Monthly split: the shares' sum and each month's amount as typed; presets fill the shares.
  function setupMonths(root) {
    var form = root.querySelector && root.querySelector("form[data-month-split]");
    if (!form) return;
    var total = parseFloat(form.getAttribute("data-total")) || 0;
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[data-share]"));
    var number = typedNumber;
    // amounts rather than percentages: most figures above 100 and the sum nearer the year than 100
    function amounts(values, sum) {
      var typed = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
      return total > 0 && sum > 0 && typed[Math.floor(typed.length / 2)] > 100 &&
        Math.abs(Math.log(sum / total)) < Math.abs(Math.log(sum / 100));
    }
    function refresh() {
      var values = inputs.map(function (el) { return number(el.value); });
      var sum = values.reduce(function (a, v) { return a + (isNaN(v) ? 0 : v); }, 0);
      var out = form.querySelector("[data-share-sum]");
      var asAmounts = amounts(values, sum);
      if (out) {
        // amounts are summed as amounts, marked when they miss the year; shares that do not
        // make 100 % are marked (they are scaled)
        out.textContent = asAmounts ? sum.toLocaleString(undefined, { maximumFractionDigits: 2 }) : sum.toFixed(1) + "%";
        out.classList.toggle("gap", asAmounts ? Math.abs(sum - total) > 0.005
          : form.hasAttribute("data-whole-year") && Math.abs(sum - 100) > 0.05);
      }
      form.querySelectorAll("[data-hint]").forEach(function (el) {
        el.hidden = (el.getAttribute("data-hint") === "amounts") !== asAmounts;
      });
      inputs.forEach(function (el, i) {
        var cell = form.querySelector("[data-preview='" + el.name + "']");
        if (!cell) return;
        cell.textContent = sum > 0 && !isNaN(values[i]) ? Math.round(total * values[i] / sum).toLocaleString() : "—";
      });
    }
    form.addEventListener("input", refresh);
    form.querySelectorAll("button[data-preset]").forEach(function (button) {
      button.addEventListener("click", function () {
        var preset = JSON.parse(button.getAttribute("data-preset"));
        // by month (m1 … m12): the months already over have no share input
        inputs.forEach(function (el) { el.value = preset[parseInt(el.name.slice(1), 10) - 1]; });
        refresh();
      });
    });
    refresh();
  }

  // On a narrow screen the menu is a row of links that scrolls sideways: show the current one.
  function showActiveNav() {
    var nav = document.querySelector("nav.nav");
    var active = nav && nav.querySelector(".nav-link.active");
    if (active && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = active.offsetLeft - (nav.clientWidth - active.offsetWidth) / 2;
    }
  }

  // A form whose work takes seconds (an import being applied): its button says so and cannot be
  // pressed twice. The label comes from the button's data-busy attribute (translated there).
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button[data-busy]");
    if (button) {
      button.dataset.label = button.textContent;
      button.disabled = true;
      button.textContent = button.dataset.busy;
    }
  });
  window.addEventListener("pageshow", function () {  // back to a page whose form was sent
    document.querySelectorAll("button[data-busy][data-label]").forEach(function (button) {
      button.disabled = false;
      button.textContent = button.dataset.label;
    });
  });

  document.addEventListener("DOMContentLoaded", function () { setupBoard(document); renderCharts(document); showActiveNav(); setupMonths(document); });
  document.addEventListener("htmx:afterSettle", function (event) { renderCharts(event.detail.elt); });
  document.addEventListener("htmx:afterSettle", function (event) { setupBoard(event.detail.elt); });
  // Let HTMX swap validation responses (HTTP 400) so forms show their errors in place.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
})();
