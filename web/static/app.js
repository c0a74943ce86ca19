// Small behaviours of the dashboard: copy on click, "/" focuses search.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-copy], [data-copy-target]");
  if (!target) return;
  const source = target.dataset.copyTarget ? target.parentElement.querySelector(target.dataset.copyTarget) : target;
  const text = source && (source.dataset.copy || source.textContent);
  if (text && navigator.clipboard) {
    navigator.clipboard.writeText(text.trim()).then(() => {
      target.classList.add("copied");
      setTimeout(() => target.classList.remove("copied"), 800);
    });
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) {
    const search = document.querySelector("input[type=search]");
    if (search) { event.preventDefault(); search.focus(); }
  }
});
// Live rows (server-sent events): a row already on the page is not inserted twice, e.g. after a reconnect.
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  const id = event.detail && event.detail.lastEventId;
  if (id && document.getElementById("evt-row-" + id)) event.preventDefault();
});
document.addEventListener("htmx:sseMessage", (event) => {
  const body = event.target.closest("table") && event.target.closest("table").querySelector(".empty-row");
  if (body) body.remove();
});
// Live payment rows: a newer row for the same payment replaces the older one below it.
document.addEventListener("htmx:afterSwap", (event) => {
  const tbody = document.getElementById("payment-rows");
  if (!tbody || !tbody.contains(event.detail.elt)) return;
  const seen = new Set();
  for (const row of tbody.querySelectorAll("tr[data-payment]")) {
    if (seen.has(row.dataset.payment)) row.remove(); else seen.add(row.dataset.payment);
  }
  tbody.querySelectorAll("tr.empty-row").forEach((row) => { if (seen.size) row.remove(); });
});
