// The Benchmarks page's charts (uPlot, vendored): per metric, the cohort's middle half (p25–p75) as a band,
// its median as a line, and the seller's own value marked, month by month up to the period shown.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof uPlot === "undefined") return;
  const css = getComputedStyle(document.documentElement);
  const accent = css.getPropertyValue("--accent").trim() || "#4f46e5";
  const muted = css.getPropertyValue("--muted").trim() || "#6b7280";
  const month = (p) => Date.UTC(Number(p.slice(0, 4)), Number(p.slice(5, 7)) - 1, 1) / 1000;
  const DAY = 86400;

  for (const el of document.querySelectorAll(".bench-chart")) {
    const history = JSON.parse(el.dataset.history || "[]");
    const unit = el.dataset.unit;
    const scale = unit === "usd" ? 1 : 100; // shares and changes are drawn in percent
    const at = (q, key) => (q && q[key] !== null && q[key] !== undefined ? q[key] * scale : null);
    const xs = history.map((h) => month(h.period));
    const p25 = history.map((h) => at(h.quantiles, "p25"));
    const p50 = history.map((h) => at(h.quantiles, "p50"));
    const p75 = history.map((h) => at(h.quantiles, "p75"));
    const you = history.map((h) => (h.value === null ? null : h.value * scale));
    const fmt = (v) => (v === null ? "—" : unit === "usd" ? "$" + v.toFixed(2) : v.toFixed(unit === "growth" ? 1 : 2) + "%");
    new uPlot({
      width: el.clientWidth || 420, height: 200,
      scales: { x: { time: true, range: (u, min, max) => [min - 20 * DAY, max + 20 * DAY] } },
      series: [
        { value: (u, v) => (v === null ? "" : new Date(v * 1000).toISOString().slice(0, 7)) },
        { label: "p25", stroke: muted, width: 1, dash: [4, 4], points: { show: true, size: 4 }, value: (u, v) => fmt(v) },
        { label: "median", stroke: muted, width: 2, points: { show: true, size: 6 }, value: (u, v) => fmt(v) },
        { label: "p75", stroke: muted, width: 1, dash: [4, 4], points: { show: true, size: 4 }, value: (u, v) => fmt(v) },
        { label: "you", stroke: accent, width: 2, points: { show: true, size: 10, fill: accent }, value: (u, v) => fmt(v) },
      ],
      bands: [{ series: [3, 1], fill: "rgba(107,114,128,.16)" }],
      axes: [
        { values: (u, splits) => splits.map((s) => new Date(s * 1000).toISOString().slice(0, 7)), space: 70 },
        { values: (u, splits) => splits.map((s) => fmt(s)), size: 60 },
      ],
    }, [xs, p25, p50, p75, you], el);
  }
});
