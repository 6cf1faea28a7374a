// Cloudflare Queues for the local host. Miniflare's real queue broker does the queueing
// (batching by max_batch_size/max_batch_timeout, delays, retries with attempts, the dead-letter
// queue); this module gives the Python Workers what workerd gives them around it:
//
// - WorkerQueue, the producer binding (send/sendBatch/metrics), which validates and sizes a
//   message as workerd's queue.c++ does, refuses what the Queues service refuses with its
//   error text, and hands the message to the bridge Worker's real producer binding;
// - QueueService, the Node end of the bridge Worker's queue() handler: each batch Miniflare
//   delivers runs the consuming Python Worker's queue handler on QueueController/QueueMessage
//   objects that record ack()/retry()/ackAll()/retryAll() as workerd does, and answers with one
//   decision per message, which the bridge applies to the real batch.
import v8 from "node:v8";
import { fromWire, HOST_SERVICE, toWire } from "./wire.mjs";
import { checkQueueBatch, checkQueueSend, checkRetryDelay, countApiRequest } from "./limits.mjs";

// The host's QueueJournal (queue_journal.mjs): accepted messages outlive a killed host, as
// Cloudflare's do. None in unit tests of this module.
let journal = null;
export function useJournal(j) {
  journal = j;
}

// --- values as workerd's JSG converts them ---------------------------------------------------

// A JS value as a C++ `int` parameter (jsg/value.h): ToNumber, not finite -> 0, truncated,
// outside int32 a TypeError.
export function toInt(value) {
  if (Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) return value;
  const n = Number(value);
  if (!Number.isFinite(n)) return 0;
  if (n > 2 ** 31 - 1 || n < -(2 ** 31)) {
    throw new TypeError("Value out of range. Must be between -2147483648 and 2147483647 (inclusive).");
  }
  return Math.trunc(n);
}

// A JSG_STRUCT parameter: undefined/null is an empty struct, anything but an object a TypeError.
function struct(value, method, className, position, typeName) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" && typeof value !== "function") {
    throw new TypeError(
      `Failed to execute '${method}' on '${className}': ${position} is not of type '${typeName}'.`,
    );
  }
  return value;
}

const optionalInt = (value) => (value === undefined ? undefined : toInt(value));

// --- producer --------------------------------------------------------------------------------

const CONTENT_TYPES = new Set(["text", "bytes", "json", "v8"]);

function validateContentType(contentType) {
  if (contentType === undefined) return undefined;
  const text = String(contentType);
  const lower = text.toLowerCase();
  if (!CONTENT_TYPES.has(lower)) throw new TypeError(`Unsupported queue message content type: ${text}`);
  return lower;
}

// The size of V8's serialization of `value` (Node's serializer writes typed arrays a little
// differently from workerd's: near enough for the limits). V8's refusal is workerd's
// DataCloneError.
function v8Size(value) {
  try {
    return v8.serialize(value).byteLength;
  } catch (err) {
    throw new DOMException(err.message, "DataCloneError");
  }
}

// workerd's serialize(): the body's size in bytes as the Queues service sees it, and the value
// that makes the bridge's real binding serialize the same bytes. Without a contentType the
// body is JSON (compatibility flag queues_json_messages, on since 2024-03-18).
export function serializeBody(body, contentType) {
  if (body === undefined) throw new TypeError("Message body cannot be undefined");
  switch (contentType ?? "json") {
    case "text":
      if (typeof body !== "string") {
        throw new TypeError(`Content Type "text" requires a value of type string, but received: ${typeof body}`);
      }
      return { bytes: Buffer.byteLength(body), wire: body };
    case "bytes":
      if (!ArrayBuffer.isView(body)) {
        throw new TypeError(
          `Content Type "bytes" requires a value of type ArrayBufferView, but received: ${typeof body}`,
        );
      }
      return { bytes: body.byteLength, wire: toWire(body) };
    case "json": {
      const text = JSON.stringify(body);
      if (text === undefined) {
        // workerd would enqueue the text "undefined", which no consumer can ever parse.
        throw new TypeError(`The local host refuses a message body JSON cannot represent (${typeof body}).`);
      }
      return { bytes: Buffer.byteLength(text), wire: toWire(JSON.parse(text)) };
    }
    default: // v8: V8's serializer refuses what it cannot clone, as workerd's does
      return { bytes: v8Size(body), wire: toWire(body) };
  }
}

// The producer binding. The class name is workerd's: the Python SDK wraps env bindings whose
// constructor is named WorkerQueue (workers/rpc.py, _EnvWrapper._BINDING_TYPES).
export class WorkerQueue {
  #bridge;
  #binding;

  constructor(bridge, binding) {
    this.#bridge = bridge;
    this.#binding = binding;
  }

  async send(body, options) {
    const opts = struct(options, "send", "WorkerQueue", "parameter 2", "QueueSendOptions");
    const delaySeconds = optionalInt(opts.delaySeconds);
    const contentType = validateContentType(opts.contentType);
    const { bytes, wire } = serializeBody(body, contentType);
    checkQueueSend(bytes, delaySeconds);
    countApiRequest();
    return this.#journaled([{ body: wire, contentType }], { op: "send", body: wire, contentType, delaySeconds });
  }

  async sendBatch(messages, options) {
    if (messages === null || typeof messages !== "object" || typeof messages[Symbol.iterator] !== "function") {
      throw new TypeError(
        "Failed to execute 'sendBatch' on 'WorkerQueue': parameter 1 is not of type 'Iterable<MessageSendRequest>'.",
      );
    }
    const requests = Array.from(messages, (m, i) => {
      const s = struct(m, "sendBatch", "WorkerQueue", `element ${i} of parameter 1`, "MessageSendRequest");
      return { body: s.body, contentType: s.contentType, delaySeconds: optionalInt(s.delaySeconds) };
    });
    const opts = struct(options, "sendBatch", "WorkerQueue", "parameter 2", "QueueSendBatchOptions");
    const delaySeconds = optionalInt(opts.delaySeconds);
    if (requests.length === 0) throw new TypeError("sendBatch() requires at least one message");
    const sized = requests.map((r) => {
      const contentType = validateContentType(r.contentType);
      const { bytes, wire } = serializeBody(r.body, contentType);
      return { bytes, delaySeconds: r.delaySeconds, wire: { body: wire, contentType, delaySeconds: r.delaySeconds } };
    });
    checkQueueBatch(sized, delaySeconds);
    countApiRequest();
    const wires = sized.map((m) => m.wire);
    return this.#journaled(wires, { op: "sendBatch", messages: wires, delaySeconds });
  }

  async metrics() {
    countApiRequest();
    return this.#call({ op: "metrics" });
  }

  // Journaled before the broker takes them; a send the broker refused is settled again.
  async #journaled(messages, payload) {
    const queue = journal?.queueOf(this.#binding);
    if (queue) journal.put(queue, messages);
    try {
      return await this.#call(payload);
    } catch (err) {
      if (queue) journal.done(queue, messages.map((m) => m.body));
      throw err;
    }
  }

  async #call(payload) {
    const { result } = await this.#bridge.call("queue", this.#binding, payload);
    return fromWire(result);
  }
}

// --- consumer --------------------------------------------------------------------------------

const CROSS_REQUEST =
  "Cannot perform I/O on behalf of a different request. I/O objects (such as streams, " +
  "request/response bodies, and others) created in the context of one request handler cannot " +
  "be accessed from a different request's handler.";

// workerd's QueueEventResult with the rules of queue.c++ for recording calls (the first call on
// a message wins; ackAll and retryAll exclude each other; the warnings are workerd's).
export class BatchResult {
  #warn;
  #open = true;
  retryAll = false;
  retryAllDelay = undefined;
  ackAll = false;
  retries = new Map(); // id -> delaySeconds (or undefined)
  acks = new Set();

  constructor(warn) {
    this.#warn = warn;
  }

  #check() {
    if (!this.#open) throw new Error(CROSS_REQUEST);
  }

  retry(id, options, method = "retry", className = "QueueMessage") {
    const opts = struct(options, method, className, "parameter 1", "QueueRetryOptions");
    const delaySeconds = optionalInt(opts.delaySeconds);
    checkRetryDelay(delaySeconds);
    this.#check();
    if (this.ackAll) {
      return this.#warn(
        `Received a call to retry() on message ${id} after ackAll() was already called. ` +
          "Calling retry() on a message after calling ackAll() has no effect.",
      );
    }
    if (this.acks.has(id)) {
      return this.#warn(
        `Received a call to retry() on message ${id} after ack() was already called. ` +
          "Calling retry() on a message after calling ack() has no effect.",
      );
    }
    this.retries.set(id, delaySeconds);
  }

  ack(id) {
    this.#check();
    if (this.ackAll) return;
    if (this.retryAll) {
      return this.#warn(
        `Received a call to ack() on message ${id} after retryAll() was already called. ` +
          "Calling ack() on a message after calling retryAll() has no effect.",
      );
    }
    if (this.retries.has(id)) {
      return this.#warn(
        `Received a call to ack() on message ${id} after retry() was already called. ` +
          "Calling ack() on a message after calling retry() has no effect.",
      );
    }
    this.acks.add(id);
  }

  retryAllMessages(options) {
    const opts = struct(options, "retryAll", "QueueController", "parameter 1", "QueueRetryOptions");
    const delaySeconds = optionalInt(opts.delaySeconds);
    checkRetryDelay(delaySeconds);
    this.#check();
    if (this.ackAll) {
      return this.#warn(
        "Received a call to retryAll() after ackAll() was already called. " +
          "Calling retryAll() after calling ackAll() has no effect.",
      );
    }
    this.retryAll = true;
    if (delaySeconds !== undefined) this.retryAllDelay = delaySeconds;
  }

  ackAllMessages() {
    this.#check();
    if (this.retryAll) {
      return this.#warn(
        "Received a call to ackAll() after retryAll() was already called. " +
          "Calling ackAll() after calling retryAll() has no effect.",
      );
    }
    this.ackAll = true;
  }

  // What the Queues service makes of the result (queues/configuration/batching-retries):
  // explicitly acked messages are never redelivered, even when the handler failed; explicitly
  // retried ones are, with their own delay; the rest are retried after retryAll() or a failed
  // handler, else acknowledged (a normal return acks them, as ackAll() does). A retry without
  // its own delay takes retryAll()'s, else the consumer's retry_delay (Miniflare applies it).
  // Afterwards the batch is closed: calls from lingering work fail as on workerd.
  decide(ids, failed) {
    this.#open = false;
    return ids.map((id) => {
      if (this.acks.has(id)) return { id, retry: false };
      if (this.retries.has(id)) return { id, retry: true, delaySeconds: this.retries.get(id) ?? this.retryAllDelay };
      if (this.retryAll || failed) return { id, retry: true, delaySeconds: this.retryAllDelay };
      return { id, retry: false };
    });
  }
}

// One message of a batch, as workerd's QueueMessage (properties id, timestamp, body, attempts;
// methods ack, retry).
export class QueueMessage {
  #result;
  #message;

  constructor(result, message) {
    this.#result = result;
    this.#message = message;
  }
  get id() {
    return this.#message.id;
  }
  get timestamp() {
    return new Date(this.#message.timestamp);
  }
  get body() {
    return this.#message.body;
  }
  get attempts() {
    return this.#message.attempts;
  }
  ack() {
    this.#result.ack(this.#message.id);
  }
  retry(options) {
    this.#result.retry(this.#message.id, options);
  }
}

// The batch a module Worker's queue(batch) receives, as workerd's QueueController (properties
// queue, messages, metadata; methods ackAll, retryAll). Not a plain object, so the SDK's
// python_from_rpc leaves it a JsProxy and the handler gets _BindingWrapper(batch), as on workerd.
export class QueueController {
  #queue;
  #messages;
  #metadata;
  #result;

  constructor(queue, messages, metadata, result) {
    this.#queue = queue;
    this.#messages = messages.map((m) => new QueueMessage(result, m));
    this.#metadata = metadata;
    this.#result = result;
  }
  get queue() {
    return this.#queue;
  }
  get messages() {
    return this.#messages.slice();
  }
  get metadata() {
    // workerd's MessageBatchMetrics; an empty backlog has no oldest message (undefined).
    const { backlogCount, backlogBytes, oldestMessageTimestamp } = this.#metadata.metrics;
    const oldest = oldestMessageTimestamp ? new Date(oldestMessageTimestamp) : undefined;
    return { metrics: { backlogCount, backlogBytes, oldestMessageTimestamp: oldest } };
  }
  retryAll(options) {
    this.#result.retryAllMessages(options);
  }
  ackAll() {
    this.#result.ackAllMessages();
  }
}

// Dead letters the host keeps per queue (a dead-letter queue no Worker consumes), newest last.
const DEAD_LETTERS_KEPT = 1_000;

// The Node end of the bridge Worker's queue() handler (a Miniflare service binding whose
// target is `handler`). Consumers register once their isolates are ready; a batch for a queue
// without one yet fails and is retried by the broker.
export class QueueService {
  #consumers = new Map(); // queue -> { name, run(controller) }
  #deadLetters = new Map(); // dead-letter queue nobody consumes -> [{ id, timestamp, attempts, body }]
  #letterSource = new Map(); // dead-letter queue -> the queue whose messages end there
  #log;

  constructor(log) {
    this.#log = log;
    this.handler = (request) => this.#receive(request);
  }

  // The bridge Worker's queue options for these Workers (bridgeQueueOptions), with this
  // service as the target of its batches.
  bridgeOptions(workers) {
    const { deadLetterQueues, ...options } = bridgeQueueOptions(workers, this.handler);
    for (const queue of deadLetterQueues) this.#deadLetters.set(queue, []);
    for (const [queue, { deadLetterQueue }] of Object.entries(options.queueConsumers)) {
      if (deadLetterQueue) this.#letterSource.set(deadLetterQueue, queue);
    }
    return options;
  }

  // `run(controller)` runs the consumer's queue handler; it rejects when the handler (or its
  // waitUntil work) failed.
  consume(queue, name, run) {
    this.#consumers.set(queue, { name, run });
  }

  deadLetters(queue) {
    return this.#deadLetters.get(queue) || [];
  }

  async #receive(request) {
    const { queue, messages, metadata } = fromWire(await request.json());
    const decisions = await this.deliver(queue, messages, metadata);
    return Response.json({ decisions });
  }

  async deliver(queue, messages, metadata) {
    const consumer = this.#consumers.get(queue);
    const ids = messages.map((m) => m.id);
    if (!consumer && this.#deadLetters.has(queue)) return this.#keepDeadLetters(queue, messages);
    if (!consumer) throw new Error(`no consumer for queue ${queue} (yet)`);
    const result = new BatchResult((line) => this.#log(`${consumer.name} warning: ${line}`));
    let failed = false;
    try {
      await consumer.run(new QueueController(queue, messages, metadata, result));
    } catch (err) {
      failed = true;
      // A Python error's message is its traceback; anything else (a host bug) with its stack.
      const detail = err && err.type && typeof err.message === "string" ? err.message : err;
      this.#log(`${consumer.name} queue ${queue}: the handler failed; messages not acked are retried:`, detail);
    }
    const decisions = result.decide(ids, failed);
    const settled = new Set(decisions.filter((d) => !d.retry).map((d) => d.id));
    journal?.done(queue, messages.filter((m) => settled.has(m.id)).map((m) => toWire(m.body)));
    return decisions;
  }

  // Miniflare drops messages sent to a queue nobody consumes; on Cloudflare a dead-letter queue
  // keeps them. The host consumes such queues itself and keeps (and logs) what arrives.
  #keepDeadLetters(queue, messages) {
    const kept = this.#deadLetters.get(queue);
    for (const m of messages) {
      kept.push(m);
      const preview = JSON.stringify(toWire(m.body)).slice(0, 200);
      this.#log(`queue ${queue} holds dead letter ${m.id} (sent ${new Date(m.timestamp).toISOString()}): ${preview}`);
    }
    this.#deadLetters.set(queue, kept.slice(-DEAD_LETTERS_KEPT));
    // Settled for good: the host holds it here (Cloudflare: the dead-letter queue does).
    const source = this.#letterSource.get(queue);
    if (source) journal?.done(source, messages.map((m) => toWire(m.body)));
    return messages.map((m) => ({ id: m.id, retry: false }));
  }
}

// --- Miniflare options for the bridge Worker ------------------------------------------------

// Consumer settings a config leaves out take Cloudflare's defaults (queues/configuration/
// batching-retries: max_batch_size 10, max_batch_timeout 5 s, max_retries 3), not Miniflare's
// (5, 1 s, 2).
const CONSUMER_DEFAULTS = { maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3 };

// The bridge Worker produces to every queue a Python Worker produces to (under the same binding
// names) and consumes every queue a Python Worker consumes, plus every dead-letter queue nobody
// consumes (returned as deadLetterQueues); it hands each batch to `handler` through the
// HOST_SERVICE binding.
// workers: [{ name, queueProducers: {binding: {queueName}}, queueConsumers: {queue: options} }]
export function bridgeQueueOptions(workers, handler) {
  const queueProducers = {};
  const queueConsumers = {};
  const consumedBy = {};
  for (const w of workers) {
    for (const [binding, { queueName }] of Object.entries(w.queueProducers || {})) {
      if (queueProducers[binding] && queueProducers[binding].queueName !== queueName) {
        throw new Error(`queue binding ${binding} means two queues (${queueProducers[binding].queueName}, ${queueName})`);
      }
      // delivery_delay on a producer is deprecated and has no effect on Cloudflare: not passed.
      queueProducers[binding] = { queueName };
    }
    for (const [queue, options] of Object.entries(w.queueConsumers || {})) {
      if (consumedBy[queue]) {
        throw new Error(`queue ${queue} has two consumers (${consumedBy[queue]}, ${w.name}); a queue has one`);
      }
      consumedBy[queue] = w.name;
      queueConsumers[queue] = {
        maxBatchSize: options.maxBatchSize ?? CONSUMER_DEFAULTS.maxBatchSize,
        maxBatchTimeout: options.maxBatchTimeout ?? CONSUMER_DEFAULTS.maxBatchTimeout,
        maxRetries: options.maxRetries ?? CONSUMER_DEFAULTS.maxRetries,
        deadLetterQueue: options.deadLetterQueue,
        retryDelay: options.retryDelay,
      };
    }
  }
  const deadLetterQueues = [];
  for (const { deadLetterQueue } of Object.values({ ...queueConsumers })) {
    if (deadLetterQueue && !queueConsumers[deadLetterQueue]) {
      queueConsumers[deadLetterQueue] = {};
      deadLetterQueues.push(deadLetterQueue);
    }
  }
  return { queueProducers, queueConsumers, serviceBindings: { [HOST_SERVICE]: handler }, deadLetterQueues };
}
