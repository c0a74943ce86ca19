// The dashboard's live client: every htmx `sse-connect` element gets a ResumingEventSource.
//
// A bare EventSource resumes with Last-Event-ID only on its own reconnects, and gives up for good on a
// non-200 answer (a process at its connection cap answers 503). htmx's sse extension then opens a new
// EventSource on the page's original address, which replays from the position the page was rendered at:
// events shown twice. Here every failure (an error, a 503, a server that ended the stream while draining)
// closes the source and opens a new one after an exponential backoff with full jitter (so a thousand
// pages whose server went away do not all come back in the same instant), passing the id of the last
// event received as `last_event_id`, which the server treats like the Last-Event-ID header.
(() => {
  const BASE_DELAY_MS = 500;
  const MAX_DELAY_MS = 30000;

  function withLastEventId(url, id) {
    if (!id) return url;
    const resumed = new URL(url, window.location.href);
    resumed.searchParams.set("last_event_id", id);
    return resumed.pathname + resumed.search;
  }

  // Full jitter: anywhere between 0 and the exponential ceiling, never below a small floor.
  function backoffDelay(attempt) {
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
    return Math.max(100, Math.random() * ceiling);
  }

  class ResumingEventSource extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.lastEventId = "";
      this.attempt = 0;
      this.readyState = EventSource.CONNECTING;  // never CLOSED until close(): htmx must not reconnect on its own
      this.names = new Set();
      this.onopen = null;
      this.onerror = null;
      this.source = null;
      this.timer = null;
      this.relay = (message) => {
        if (message.lastEventId) this.lastEventId = message.lastEventId;
        this.dispatchEvent(new MessageEvent(message.type, { data: message.data, lastEventId: message.lastEventId }));
      };
      this.connect();
    }

    addEventListener(name, listener, options) {
      super.addEventListener(name, listener, options);
      if (!this.names.has(name)) {
        this.names.add(name);
        if (this.source) this.source.addEventListener(name, this.relay);
      }
    }

    connect() {
      this.timer = null;
      const source = new EventSource(withLastEventId(this.url, this.lastEventId), { withCredentials: true });
      this.source = source;
      for (const name of this.names) source.addEventListener(name, this.relay);
      source.onopen = (event) => {
        this.attempt = 0;
        this.readyState = EventSource.OPEN;
        if (this.onopen) this.onopen(event);
      };
      source.onerror = (event) => {
        source.close();
        if (this.readyState === EventSource.CLOSED) return;
        this.readyState = EventSource.CONNECTING;
        if (this.onerror) this.onerror(event);
        this.timer = window.setTimeout(() => this.connect(), backoffDelay(this.attempt));
        this.attempt += 1;
      };
    }

    close() {
      this.readyState = EventSource.CLOSED;
      if (this.timer !== null) window.clearTimeout(this.timer);
      if (this.source) this.source.close();
    }
  }

  // A resumed stream may repeat what the page already shows (the API-log tail re-sends a window of rows, as a
  // request still running when the connection dropped is logged later with an earlier start): a message whose
  // id is already on a `data-sse-id` element of its target is not swapped in again.
  document.addEventListener("htmx:sseBeforeMessage", (event) => {
    const id = event.detail && event.detail.lastEventId;
    if (id && event.target.querySelector(`[data-sse-id="${CSS.escape(id)}"]`)) event.preventDefault();
  });

  window.ResumingEventSource = ResumingEventSource;
  // htmx's sse extension opens every connection through this hook.
  htmx.createEventSource = (url) => new ResumingEventSource(url);
})();
