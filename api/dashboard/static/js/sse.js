// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, so the stream is read
// with a ReadableStream and parsed here (https://html.spec.whatwg.org/multipage/server-sent-events.html).

/**
 * An incremental SSE parser: feed it decoded text in chunks of any size; it calls `onEvent({event, data, id})`
 * for each complete event. Comments (`: keep-alive`) are ignored; `retry:` is reported through `onRetry`.
 */
export class SseParser {
  constructor(onEvent, onRetry = () => {}) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = "";
    this.skipLF = false;
    this.reset();
    this.lastEventId = "";
  }

  reset() {
    this.eventType = "";
    this.data = [];
  }

  feed(text) {
    // Lines end in CRLF, LF or CR. A CR ends its line at once; if the next chunk starts with the LF of a
    // CRLF split across chunks, that LF is skipped rather than read as an empty line (which ends an event).
    if (!text) return;
    if (this.skipLF && text.startsWith("\n")) text = text.slice(1);
    this.skipLF = false;
    this.buffer += text;
    const re = /\r\n|\n|\r/g;
    let start = 0;
    let match;
    while ((match = re.exec(this.buffer)) !== null) {
      this.line(this.buffer.slice(start, match.index));
      start = re.lastIndex;
      if (match[0] === "\r" && start === this.buffer.length) this.skipLF = true;
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    if (line === "") {
      if (this.data.length) {
        this.onEvent({ event: this.eventType || "message", data: this.data.join("\n"), id: this.lastEventId });
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventType = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}

/**
 * Keep a stream open: connect, parse, and on any end or error reconnect after a capped exponential backoff
 * with jitter (1 s, 2 s, 4 s, ... 30 s); a connection that delivered data resets the backoff. A 401/403
 * stops for good (the key is wrong; retrying would not help). Returns `{close()}`.
 *
 * `onEvent(event)` receives parsed events with `data` JSON-decoded when possible; `onState(state, info)` gets
 * "connecting", "open", "retrying" (info.delay ms, info.reason), "closed" or "refused" (info.status).
 */
export function openStream(url, { headers = {}, onEvent, onState = () => {}, minDelay = 1000, maxDelay = 30000 } = {}) {
  let controller = null;
  let closed = false;
  let attempt = 0;
  let timer = null;
  let retryHint = null;

  const schedule = (reason) => {
    if (closed) return;
    const base = retryHint ?? Math.min(maxDelay, minDelay * 2 ** attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    attempt += 1;
    onState("retrying", { delay, reason });
    timer = setTimeout(connect, delay);
  };

  async function connect() {
    if (closed) return;
    controller = new AbortController();
    onState("connecting", { attempt });
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "text/event-stream", ...headers }, signal: controller.signal, cache: "no-store" });
    } catch (err) {
      if (!closed) schedule(err.message || "network error");
      return;
    }
    if (response.status === 401 || response.status === 403) {
      closed = true;
      onState("refused", { status: response.status });
      return;
    }
    if (!response.ok || !response.body) {
      schedule(`HTTP ${response.status}`);
      return;
    }
    onState("open", {});
    const parser = new SseParser(
      (ev) => {
        attempt = 0;
        let data = ev.data;
        try { data = JSON.parse(ev.data); } catch { /* not JSON: hand over the text */ }
        onEvent?.({ ...ev, data });
      },
      (ms) => { retryHint = ms; },
    );
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        attempt = 0;
        parser.feed(value);
      }
      schedule("stream ended");
    } catch (err) {
      if (!closed) schedule(err.message || "stream broken");
    }
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      controller?.abort();
      onState("closed", {});
    },
  };
}
