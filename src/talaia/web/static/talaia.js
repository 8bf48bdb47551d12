/* Draws the Plotly figures whose JSON a page embeds (<script type="application/json">). */
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("script[type='application/json'][id$='-data']").forEach(function (s) {
      var target = document.getElementById(s.id.replace(/-data$/, ""));
      if (!target || !window.Plotly) { return; }
      var fig = JSON.parse(s.textContent);
      window.Plotly.newPlot(target, fig.data, fig.layout, {
        displaylogo: false, responsive: true,
        modeBarButtonsToRemove: ["sendDataToCloud", "lasso2d", "select2d"]
      }).then(function () { target.setAttribute("data-drawn", "true"); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
}());

/* Forms with data-busy="ID" (the crime-analysis filters): on submit, show the element ID (a
   "computing…" notice) while the server computes the next page; the form submits normally,
   so without JavaScript it works the same, only without the notice. */
(function () {
  "use strict";
  function busy(form, on) {
    var note = document.getElementById(form.getAttribute("data-busy"));
    if (note) { note.hidden = !on; }
    form.setAttribute("aria-busy", on ? "true" : "false");
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = on; });
  }
  function init() {
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.setTimeout(function () { busy(form, true); }, 0);
      });
    });
  }
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy]").forEach(function (form) { busy(form, false); });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
}());
