// The Benchmarks page's charts (uPlot, vendored): per metric, the cohort's middle half (p25–p75) as a band,
// its median as a line, and the seller's own value marked, month by month up to the period shown.
const BAND = "rgba(107,114,128,.16)";

// Each month's middle half (p25–p75) as a box behind the lines: visible even for a single month, where a
// band between two lines would have no width. Drawn before the series, inside the plotting area.
function drawBoxes(u, xs, p25, p75) {
  const ctx = u.ctx;
  const width = Math.min(36, u.bbox.width / (xs.length * 3)) * devicePixelRatio;
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  ctx.fillStyle = BAND;
  xs.forEach((x, i) => {
    if (p25[i] === null || p75[i] === null) return;
    const left = u.valToPos(x, "x", true) - width / 2;
    const top = u.valToPos(p75[i], "y", true);
    const bottom = u.valToPos(p25[i], "y", true);
    ctx.fillRect(left, top, width, Math.max(bottom - top, devicePixelRatio));
  });
  ctx.restore();
}

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
    // Ticks with as many decimals as their step needs: "2%" and "0.25%", never "100.00%".
    const tick = (splits) => {
      const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
      const digits = Math.max(0, Math.min(3, -Math.floor(Math.log10(step || 1))));
      return splits.map((s) => (unit === "usd" ? "$" + s.toFixed(digits) : s.toFixed(digits) + "%"));
    };
    // The y range never leaves the metric's published bounds, and a flat line (every value 0) gets a
    // tenth of them as room instead of uPlot's default span.
    const lower = Number(el.dataset.lower) * scale;
    const upper = Number(el.dataset.upper) * scale;
    const yRange = (u, min, max) => {
      if (min === null || max === null) return [lower, upper];
      const pad = max > min ? (max - min) * 0.15 : (upper - lower) * 0.01;
      return [Math.max(lower, min - pad), Math.min(upper, max + pad)];
    };
    new uPlot({
      width: el.clientWidth || 420, height: 200,
      legend: { show: false }, // the template draws a static key; uPlot's live legend only repeats the facts below
      scales: { x: { time: true, range: () => [xs[0] - 20 * DAY, xs[xs.length - 1] + 20 * DAY] }, y: { range: yRange } },
      series: [
        { value: (u, v) => (v === null ? "" : new Date(v * 1000).toISOString().slice(0, 7)) },
        { label: "p25", stroke: muted, width: 1, dash: [4, 4], points: { show: true, size: 4 }, value: (u, v) => fmt(v) },
        { label: "median", stroke: muted, width: 2, points: { show: true, size: 6 }, value: (u, v) => fmt(v) },
        { label: "p75", stroke: muted, width: 1, dash: [4, 4], points: { show: true, size: 4 }, value: (u, v) => fmt(v) },
        { label: "you", stroke: accent, width: 2, points: { show: true, size: 10, fill: accent }, value: (u, v) => fmt(v) },
      ],
      hooks: { drawAxes: [(u) => drawBoxes(u, xs, p25, p75)] },
      axes: [
        { splits: () => xs, values: (u, splits) => splits.map((s) => new Date(s * 1000).toISOString().slice(0, 7)) },
        { values: (u, splits) => tick(splits), size: 64 },
      ],
    }, [xs, p25, p50, p75, you], el);
  }
});
