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
// Behaviours that would otherwise be inline handlers (the Content-Security-Policy allows no inline script):
// a select that submits its form on change, and a form that asks before it is sent.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.requestSubmit();
});
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
// htmx does not swap 4xx answers by default, so a form the server refused looked as if nothing happened.
// A form's 400/404/409/... answer is the page again with the message inline: swap it like a success.
// Anything else that fails (a row loaded on scroll, a 5xx) says so in a toast, with the server's message.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  const source = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
  if (status >= 400 && status < 500 && source && source.closest("form")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
  const said = page.querySelector("[data-error-message]");
  toast((said && said.textContent.trim()) || `The server answered ${xhr.status}; please try again.`);
});
document.addEventListener("htmx:sendError", () => toast("The server could not be reached; please try again."));
function toast(message) {
  const holder = document.getElementById("toasts");
  if (!holder) return;
  const item = document.createElement("div");
  item.className = "toast";
  item.setAttribute("role", "alert");
  item.textContent = message;
  holder.appendChild(item);
  setTimeout(() => item.remove(), 8000);
}
// Relative times ("12s ago") keep counting while the page stays open; the same words as the server's reltime.
function relativeTime(iso) {
  const when = Date.parse(iso);
  if (Number.isNaN(when)) return null;
  let seconds = (Date.now() - when) / 1000;
  const future = seconds < 0;
  seconds = Math.abs(seconds);
  let text = `${Math.floor(seconds)}s`;
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size) { text = `${Math.floor(seconds / size)}${unit}`; break; }
  }
  return future ? `in ${text}` : `${text} ago`;
}
function tickTimes() {
  for (const el of document.querySelectorAll("time[data-relative]")) {
    const text = relativeTime(el.getAttribute("datetime"));
    if (text && el.textContent !== text) el.textContent = text;
  }
}
setInterval(tickTimes, 5000);
document.addEventListener("htmx:afterSettle", tickTimes);
// A live table with data-keep-rows="N" keeps its newest N rows: the oldest go as new ones arrive.
function trimLiveTable(event) {
  const table = event.target.closest && event.target.closest("table[data-keep-rows]");
  if (!table) return;
  const keep = Number(table.dataset.keepRows);
  const rows = table.querySelectorAll("tr[data-event-id]");  // newest first: live rows, then the page's
  for (let i = keep; i < rows.length; i++) rows[i].remove();
  tickTimes();
}
document.addEventListener("htmx:sseMessage", trimLiveTable);
