// Durable queues for the local host. Cloudflare Queues keep every message a producer's send()
// resolved for until a consumer acknowledges it (or it reaches the dead-letter queue), whatever
// happens to the Workers. Miniflare's broker keeps its queues in memory, so a host killed with
// messages queued would lose what production never loses. This journal closes that gap: each
// accepted message is appended (synchronously, so a SIGKILL cannot cut it) before the broker
// takes it, each final outcome is appended when the consumer settles it, and a restarted host
// sends what is still open again. Delivery stays at least once, as on Cloudflare: a message
// settled in D1 but not yet in the journal comes again, and consumers are idempotent.
//
// Messages are matched by queue and body (equal bodies are interchangeable: a count each).
import crypto from "node:crypto";
import fs from "node:fs";

// Lines appended before the journal is rewritten to hold only the open messages.
const COMPACT_AFTER = 20_000;

export class QueueJournal {
  #path;
  #appended = 0;
  #open = new Map(); // key -> { queue, body, contentType, count }
  #queueOf; // producer binding -> queue name

  constructor(path, queueOf = {}) {
    this.#path = path;
    this.#queueOf = queueOf;
  }

  static key(queue, body) {
    return crypto.createHash("sha256").update(`${queue}\n${JSON.stringify(body)}`).digest("hex");
  }

  queueOf(binding) {
    return this.#queueOf[binding];
  }

  // What the last life left open, in send order; the journal is rewritten to hold just that.
  recover() {
    this.#open.clear();
    let text = "";
    try {
      text = fs.readFileSync(this.#path, "utf8");
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
    }
    for (const line of text.split("\n")) {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        continue; // empty, or cut by a kill mid-write: its send() never resolved
      }
      if (entry.op === "put") this.#count(entry.q, entry.b, entry.ct, 1);
      else if (entry.op === "done") this.#count(entry.q, entry.b, undefined, -1);
    }
    return this.#compact().map(({ queue, body, contentType }) => ({ queue, body, contentType }));
  }

  // Rewrite the file to hold the open messages only (atomically: a kill leaves old or new).
  #compact() {
    const open = [...this.#open.values()].flatMap((m) => Array(m.count).fill(m));
    const lines = open.map((m) => `${JSON.stringify({ op: "put", q: m.queue, b: m.body, ct: m.contentType })}\n`);
    fs.writeFileSync(`${this.#path}.tmp`, lines.join(""));
    fs.renameSync(`${this.#path}.tmp`, this.#path);
    this.#appended = 0;
    return open;
  }

  // Before the broker takes them: [{ body (wire), contentType }].
  put(queue, messages) {
    for (const m of messages) this.#count(queue, m.body, m.contentType, 1);
    this.#append(messages.map((m) => ({ op: "put", q: queue, b: m.body, ct: m.contentType })));
  }

  // Settled for good (acknowledged, dead-lettered, or refused at send): bodies (wire).
  done(queue, bodies) {
    const settled = bodies.filter((b) => this.#count(queue, b, undefined, -1));
    this.#append(settled.map((b) => ({ op: "done", q: queue, b })));
  }

  openCount() {
    let n = 0;
    for (const m of this.#open.values()) n += m.count;
    return n;
  }

  #count(queue, body, contentType, delta) {
    const key = QueueJournal.key(queue, body);
    const entry = this.#open.get(key);
    if (delta < 0) {
      if (!entry) return false; // sent before the journal existed: nothing to settle
      entry.count -= 1;
      if (entry.count === 0) this.#open.delete(key);
      return true;
    }
    if (entry) entry.count += 1;
    else this.#open.set(key, { queue, body, contentType, count: 1 });
    return true;
  }

  #append(entries) {
    if (!entries.length) return;
    fs.appendFileSync(this.#path, entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
    this.#appended += entries.length;
    if (this.#appended > COMPACT_AFTER) this.#compact();
  }
}
