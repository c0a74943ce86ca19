// The delivery-rate chart of a webhook endpoint (uPlot, vendored).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("delivery-chart");
  if (!el || typeof uPlot === "undefined") return;
  const rows = JSON.parse(el.dataset.series || "[]");
  const xs = rows.map((r) => Date.parse(r.at) / 1000);
  const ok = rows.map((r) => r.succeeded);
  const failed = rows.map((r) => r.failed);
  if (!rows.length) { el.textContent = "No attempts in the last 24 hours."; return; }
  const style = getComputedStyle(document.documentElement);
  new uPlot({
    width: el.clientWidth || 480, height: 180,
    series: [{}, { label: "Succeeded", stroke: style.getPropertyValue("--ok").trim() || "green", fill: "rgba(14,124,58,.12)" },
             { label: "Failed", stroke: style.getPropertyValue("--danger").trim() || "red", fill: "rgba(192,18,60,.12)" }],
    axes: [{}, { label: "attempts / 5 min" }],
  }, [xs, ok, failed], el);
});
