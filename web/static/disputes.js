// Disputes: a ticking countdown to each evidence deadline, and a confirmation before evidence is submitted.
// (No inline script: the Content-Security-Policy allows none.)
(function () {
  function left(ms) {
    if (ms <= 0) return "past due";
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60), sec = s % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return (d ? d + "d " : "") + pad(h) + "h " + pad(m) + "m " + pad(sec) + "s left";
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach((el) => {
      const due = Date.parse(el.dataset.deadline);
      if (Number.isNaN(due)) return;
      const ms = due - now;
      el.textContent = left(ms);
      el.classList.toggle("past", ms <= 0);
      el.classList.toggle("soon", ms > 0 && ms < 72 * 3600 * 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    // Under review: look again now and then, so the issuer's decision shows without a manual reload.
    // Always a GET of the dispute itself: this page may be the answer to the evidence form's POST, and
    // reloading that would post the evidence again.
    const waiting = document.querySelector("[data-refresh-seconds]");
    if (waiting) {
      setTimeout(() => window.location.replace(waiting.dataset.refreshUrl),
        Number(waiting.dataset.refreshSeconds) * 1000);
    }
  });
  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-confirm-button]");
    if (button && !window.confirm(button.dataset.confirmButton)) event.preventDefault();
  });
})();
