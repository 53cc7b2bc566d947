// Charts of the dashboards: each <canvas data-chart='{"type","labels","series"}'> becomes a Chart.js chart.
(function () {
  "use strict";
  var palette = ["#0b5cad", "#1b7a3a", "#9a5b00", "#b3261e", "#5a6275"];
  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var spec = JSON.parse(canvas.dataset.chart);
      var datasets = Object.keys(spec.series).map(function (name, i) {
        return { label: name, data: spec.series[name], backgroundColor: palette[i % palette.length],
                 borderColor: palette[i % palette.length], spanGaps: true };
      });
      new Chart(canvas, { type: spec.type, data: { labels: spec.labels, datasets: datasets },
                          options: { responsive: true, animation: false, scales: { y: { beginAtZero: true } } } });
      canvas.dataset.drawn = "1";
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
