// WebSockets for the Python Workers, as workerd gives them: `WebSocketPair`, a `Response` that
// takes status 101 with a `webSocket`, and the Node `upgrade` event wired to the pair's client
// end through `ws` (the same library Pyodide uses on Node).
//
// A pair is two in-process ends. What one end sends, the other receives; the client end
// returned in a 101 response is attached to the real network socket, so the Worker's server
// end talks to the browser. Ends accepted with the hibernation API (ctx.acceptWebSocket, see
// durable_objects.mjs) deliver to the object's webSocketMessage/webSocketClose handlers
// instead of event listeners.
import { WebSocketServer } from "ws";
import { endToEnd, errorResponse } from "./edge.mjs";
import { countSubrequest } from "./limits.mjs";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

// Close codes an endpoint may put on the wire (1005/1006/1015 only ever describe a close).
function sendableCode(code) {
  if (code >= 1000 && code <= 1003) return true;
  return (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// One end of a pair. Named WebSocket: the Python SDK and user code see workerd's class name.
export class WebSocket extends EventTarget {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSING = CLOSING;
  static CLOSED = CLOSED;

  constructor() {
    super();
    this.readyState = OPEN; // workerd: a pair's ends are open; accept() starts delivery
    this.peer = null;
    this.accepted = false;
    this.inbox = []; // what arrived before accept() / before the network attached
    this.deliver = null; // (kind, ...args) => void: an accepted or attached end's sink
    this.attachment = null;
  }

  get protocol() {
    return "";
  }

  get extensions() {
    return "";
  }

  accept() {
    if (this.accepted) throw new TypeError("WebSocket already accepted");
    this.accepted = true;
    this.deliver ??= (kind, ...args) => this.dispatchLocal(kind, ...args);
    this.flush();
  }

  // Hibernation-API acceptance: events go to `sink` (the object's handlers), not listeners.
  acceptWith(sink) {
    if (this.accepted) throw new TypeError("WebSocket already accepted");
    this.accepted = true;
    this.deliver = sink;
    this.flush();
  }

  // The runtime's side of a 101: this end now speaks for the network socket.
  attach(sink) {
    this.accepted = true;
    this.deliver = sink;
    this.flush();
  }

  flush() {
    const queued = this.inbox.splice(0);
    for (const [kind, ...args] of queued) this.deliver(kind, ...args);
  }

  receive(kind, ...args) {
    if (kind === "close") this.readyState = CLOSED;
    if (this.deliver) this.deliver(kind, ...args);
    else this.inbox.push([kind, ...args]);
  }

  dispatchLocal(kind, ...args) {
    if (kind === "message") {
      this.dispatchEvent(new MessageEvent("message", { data: args[0] }));
    } else if (kind === "close") {
      const [code, reason, wasClean] = args;
      const event = new Event("close");
      Object.assign(event, { code, reason, wasClean });
      this.dispatchEvent(event);
    }
  }

  send(data) {
    if (this.readyState !== OPEN) throw new TypeError("WebSocket is not open");
    const peer = this.peer;
    // Asynchronous like a network hop; strings and bytes cross as they are.
    queueMicrotask(() => peer.receive("message", typeof data === "string" ? data : toBytes(data)));
  }

  close(code = 1000, reason = "") {
    if (code !== undefined && !sendableCode(code)) {
      throw new TypeError(`Invalid WebSocket close code: ${code}`);
    }
    if (this.readyState === CLOSED || this.readyState === CLOSING) return;
    this.readyState = CLOSING;
    const peer = this.peer;
    queueMicrotask(() => {
      this.readyState = CLOSED;
      if (peer.readyState !== CLOSED) peer.receive("close", code, String(reason ?? ""), true);
    });
  }

  serializeAttachment(value) {
    this.attachment = value === undefined ? null : structuredClone(value);
  }

  deserializeAttachment() {
    return this.attachment === null ? null : structuredClone(this.attachment);
  }
}

function toBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  return String(data);
}

// `new WebSocketPair()`: own enumerable properties 0 (client) and 1 (server), as in workerd,
// so Python's `client, server = WebSocketPair.new().object_values()` works.
export class WebSocketPair {
  constructor() {
    const client = new WebSocket();
    const server = new WebSocket();
    client.peer = server;
    server.peer = client;
    this[0] = client;
    this[1] = server;
  }
}

// Node's Response refuses 101 and has no webSocket; workerd's takes both. The Python code's
// `Response` is Node's own behind a construct trap: every ordinary response is exactly what it
// was (hot paths keep their shapes), and only `status: 101, webSocket` builds the small
// stand-in below. Both are named Response, as the SDK's `_is_js_instance` checks require.
const NodeResponse = globalThis.Response;

const UpgradeResponse = class Response {
  constructor(init) {
    if (init.status !== 101) throw new RangeError("A webSocket response must have status 101");
    if (!(init.webSocket instanceof WebSocket)) throw new TypeError("101 needs a webSocket");
    this.status = 101;
    this.statusText = String(init.statusText ?? "Switching Protocols");
    this.headers = new Headers(init.headers);
    this.webSocket = init.webSocket;
    this.ok = false;
    this.url = "";
    this.type = "default";
    this.redirected = false;
    this.body = null;
    this.bodyUsed = false;
  }
  async arrayBuffer() {
    return new ArrayBuffer(0);
  }
  async text() {
    return "";
  }
  clone() {
    throw new TypeError("A WebSocket response cannot be cloned");
  }
};

export const Response = new Proxy(NodeResponse, {
  construct(target, args, newTarget) {
    const init = args[1];
    if (init && (init.status === 101 || init.webSocket)) return new UpgradeResponse(init);
    return Reflect.construct(target, args, newTarget === Response ? target : newTarget);
  },
});

// The `js` module the Python code sees: globalThis, plus workerd's WebSocket pieces. `fetch`:
// the outbound fetch to give the Worker (the host's, with its fault injection; default Node's).
export function workerGlobals({ fetch = (...args) => globalThis.fetch(...args) } = {}) {
  return Object.create(globalThis, {
    // A Worker's fetch() is a subrequest, counted against its invocation's limit.
    fetch: { value: (...args) => (countSubrequest(), fetch(...args)) },
    Response: { value: Response },
    WebSocketPair: { value: WebSocketPair },
    WebSocket: { value: WebSocket },
  });
}

// Complete an HTTP upgrade the Worker answered with 101 + webSocket: hand the socket to `ws`,
// answer the subprotocol the Worker chose, and join the network socket to the pair's end.
const upgrader = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  handleProtocols: (_offered, request) => request.rs1Protocol || false,
});

function completeUpgrade(req, socket, head, response, log) {
  req.rs1Protocol = response.headers.get("sec-websocket-protocol");
  const end = response.webSocket;
  upgrader.handleUpgrade(req, socket, head, (net) => {
    end.attach((kind, ...args) => {
      if (kind === "message") {
        net.send(args[0]);
      } else if (kind === "close") {
        const [code, reason] = args;
        if (sendableCode(code)) net.close(code, reason);
        else net.close();
      }
    });
    net.on("message", (data, isBinary) => {
      if (end.readyState !== OPEN) return;
      end.send(isBinary ? new Uint8Array(data) : data.toString("utf8"));
    });
    net.on("close", (code, reason) => {
      if (end.readyState === CLOSED) return;
      end.readyState = CLOSED;
      end.peer.receive("close", code || 1005, reason.toString("utf8"), code !== 1006);
    });
    net.on("error", (err) => log("websocket error:", err.message));
  });
}

// Answer an upgrade request the Worker did not accept: its HTTP response, then hang up.
async function refuseUpgrade(socket, response) {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || "Error"}`];
  for (const [name, value] of Object.entries(endToEnd(response.headers))) {
    if (name !== "content-length") lines.push(`${name}: ${value}`);
  }
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

// Node's `upgrade` event: `call()` runs the Worker on the request; a 101 with a webSocket
// joins the socket to the pair's client end, any other answer is written back as is.
export async function answerUpgrade(req, socket, head, call, log) {
  let response;
  try {
    response = await call();
  } catch (err) {
    log("uncaught:", err);
    response = errorResponse(500, "internal_error", "The Worker threw an exception.", req.headers);
  }
  try {
    if (response.status === 101 && response.webSocket) {
      completeUpgrade(req, socket, head, response, log);
    } else {
      await refuseUpgrade(socket, response);
    }
  } catch (err) {
    log("upgrade failed:", err);
    socket.destroy();
  }
}
