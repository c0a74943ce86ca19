// The Analytics page's charts, drawn by uPlot (vendored). Each chart's data is in the page as
// <script type="application/json" class="chart-data" data-for="chart-…">: points (UTC instants), series of
// values in minor units (amounts), counts, ratios (0–1) or milliseconds, and the account's time zone.
(function () {
  function formatter(spec, compact) {
    if (spec.unit === "amount") {
      const money = new Intl.NumberFormat(undefined, {
        style: "currency", currency: spec.currency, notation: compact ? "compact" : "standard",
        minimumFractionDigits: 0, maximumFractionDigits: compact ? 1 : spec.exponent,
      });
      return (v) => (v == null ? "—" : money.format(v / 10 ** spec.exponent));
    }
    // Up to two decimals where an axis step needs them (0.25 %, 2.5 ms), none where it does not.
    if (spec.unit === "ratio") {
      const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 2 });
      return (v) => (v == null ? "—" : percent.format(v));
    }
    if (spec.unit === "milliseconds") {
      const ms = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
      return (v) => (v == null ? "—" : ms.format(v < 10 ? v : Math.round(v)) + " ms");
    }
    const count = new Intl.NumberFormat(undefined, { notation: compact ? "compact" : "standard" });
    return (v) => (v == null ? "—" : count.format(v));
  }

  // Steps of the value axis for counts and minor units: whole numbers only (no "0.25 payments").
  const WHOLE = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12]
    .map((p) => m * p)).sort((a, b) => a - b);

  // The smallest top of the value axis, so an empty chart still has readable steps.
  function floor(spec) {
    if (spec.unit === "amount") return 10 * 10 ** spec.exponent;
    if (spec.unit === "ratio") return 0.01;
    if (spec.unit === "milliseconds") return 10;
    return 5;
  }

  function colours() {
    const css = getComputedStyle(document.documentElement);
    const accent = css.getPropertyValue("--accent").trim() || "#4f46e5";
    return [accent, "#0891b2", "#be123c", "#6b7280"];
  }

  function options(spec, width) {
    const full = formatter(spec, false);
    const short = formatter(spec, true);
    const palette = colours();
    const many = spec.series.length;
    const series = [{}].concat(spec.series.map((s, i) => {
      const colour = palette[i % palette.length];
      const line = { label: s.label, stroke: colour, width: 2, value: (u, v) => full(v), spanGaps: false };
      if (spec.kind !== "bars") return line;
      const align = many === 1 ? 0 : (i === 0 ? -1 : 1);
      return Object.assign(line, {
        fill: colour + "cc", width: 0, points: { show: false },
        paths: uPlot.paths.bars({ size: [many === 1 ? 0.7 : 0.35, 80], align: align }),
      });
    }));
    return {
      width: width, height: 200, series: series,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), spec.timezone || "UTC"),
      axes: [{}, Object.assign({ size: 64, values: (u, splits) => splits.map(short) },
                               spec.unit === "count" || spec.unit === "amount" ? { incrs: WHOLE } : {})],
      scales: { y: { range: (u, min, max) => [Math.min(0, min || 0), Math.max(max || 0, floor(spec))] } },
      cursor: { points: { show: spec.kind !== "bars" } },
    };
  }

  function draw(source) {
    const holder = document.getElementById(source.dataset.for);
    if (!holder || holder.dataset.drawn || typeof uPlot === "undefined") return;
    const spec = JSON.parse(source.textContent);
    const xs = spec.x.map((t) => Date.parse(t) / 1000);
    const data = [xs].concat(spec.series.map((s) => s.values));
    const chart = new uPlot(options(spec, holder.clientWidth || 480), data, holder);
    holder.dataset.drawn = "1";
    window.addEventListener("resize", () => chart.setSize({ width: holder.clientWidth || 480, height: 200 }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("script.chart-data").forEach(draw);
  });
})();
