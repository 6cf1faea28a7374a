// What the HTTP layer around a Worker does on workerd, for the local host: its own errors
// follow the app's contract (JSON {error, message, request_id, timestamp} and X-Request-Id),
// and hop-by-hop headers set by the Worker are dropped.
import { randomBytes } from "node:crypto";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/; // rs1.http.app.request_id_for

export function requestIdFor(headers) {
  const given = headers?.["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomBytes(8).toString("hex");
}

export function errorResponse(status, error, message, nodeHeaders) {
  const request_id = requestIdFor(nodeHeaders);
  const timestamp = new Date().toISOString();
  return new Response(JSON.stringify({ error, message, request_id, timestamp }), {
    status,
    headers: { "content-type": "application/json", "x-request-id": request_id },
  });
}

// Node's clientError: answer on the raw socket (no request object exists).
export function refuseUnparsed(err, socket) {
  if (!socket.writable || err.code === "ECONNRESET") return socket.destroy();
  const [status, reason, error, message] =
    err.code === "HPE_INVALID_METHOD"
      ? [405, "Method Not Allowed", "method_not_allowed", "That method is not allowed."]
      : [400, "Bad Request", "bad_request", "The request could not be parsed."];
  const request_id = requestIdFor(undefined);
  const body = JSON.stringify({ error, message, request_id, timestamp: new Date().toISOString() });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `x-request-id: ${request_id}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

// Hop-by-hop headers a Worker sets on an ordinary (non-101) response never reach the client
// on workerd: the HTTP layer owns the connection. (Checked on workerd 1.20260820.1: a 426 with
// Upgrade/Connection arrives without them.)
const HOP_BY_HOP = new Set(["connection", "upgrade", "keep-alive", "transfer-encoding", "te", "trailer"]);
export function endToEnd(headers) {
  return Object.fromEntries(
    [...headers].filter(([name]) => !HOP_BY_HOP.has(name) && !name.startsWith("proxy-")),
  );
}
