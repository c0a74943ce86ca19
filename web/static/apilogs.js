// The API logs page: the requests/errors chart (uPlot), redrawn when HTMX swaps the results.
(function () {
  function draw() {
    const holder = document.getElementById("log-chart");
    const source = document.getElementById("log-chart-data");
    if (!holder || !source || typeof uPlot === "undefined" || holder.dataset.drawn) return;
    const points = JSON.parse(source.textContent || "[]");
    const xs = points.map((p) => Date.parse(p.at) / 1000);
    const data = [xs, points.map((p) => p.requests), points.map((p) => p.errors)];
    const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#4f46e5";
    new uPlot({
      width: holder.clientWidth || 800, height: 160,
      series: [{}, { label: "Requests", stroke: accent, fill: accent + "22" }, { label: "Errors", stroke: "#be123c" }],
      axes: [{}, { size: 40 }],
    }, data, holder);
    holder.dataset.drawn = "1";
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
