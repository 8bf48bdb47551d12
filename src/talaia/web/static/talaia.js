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
