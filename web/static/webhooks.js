// The delivery-rate chart of a webhook endpoint (uPlot, vendored): attempts per 5 minutes over 24 hours.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("delivery-chart");
  if (!el || typeof uPlot === "undefined") return;
  const rows = JSON.parse(el.dataset.series || "[]");
  const step = 300;
  const end = Math.ceil(Date.now() / 1000 / step) * step;
  const byBucket = new Map(rows.map((r) => [Math.floor(Date.parse(r.at) / 1000 / step) * step, r]));
  const xs = [], ok = [], failed = [];
  for (let t = end - 24 * 3600; t <= end; t += step) {
    const r = byBucket.get(t);
    xs.push(t); ok.push(r ? r.succeeded : 0); failed.push(r ? r.failed : 0);
  }
  const css = getComputedStyle(document.documentElement);
  new uPlot({
    width: el.clientWidth || 480, height: 180,
    series: [{},
      { label: "Succeeded", stroke: css.getPropertyValue("--ok").trim() || "green", fill: "rgba(14,124,58,.12)" },
      { label: "Failed", stroke: css.getPropertyValue("--danger").trim() || "red", fill: "rgba(192,18,60,.12)" }],
    axes: [{}, { label: "attempts / 5 min" }],
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
  }, [xs, ok, failed], el);
});
