// Live radar targets over the device API's WebSocket (rs1.targets.v1; the bearer token rides
// as a subprotocol, since browsers cannot set headers on a WebSocket). It reconnects with
// exponential backoff and jitter (0.5 s doubling to 15 s, reset once a socket says hello);
// it stops on the server's "session ended" (4401: the app returns to sign-in) and "no access"
// (4403) closes, and after MAX_REFUSED sockets in a row closed before their hello.
// Frames are handed on as they come; the view draws the latest once per animation frame.
export type TargetFrame = {
  type: "targets";
  device_id: string;
  message_id: string;
  ts: number;
  received_at: number;
  targets: { id: number; x_mm: number; y_mm: number; speed_mm_s?: number }[];
};

export type LiveState = "connecting" | "live" | "reconnecting" | "closed";

type Handlers = {
  frame: (f: TargetFrame) => void;
  state: (s: LiveState, detail?: string) => void;
  ended: () => void; // the session ended (4401): sign in again
};

// The server's close codes (rs1.live.watchers): sign in again, or no access any more.
export const SESSION_ENDED = 4401;
export const ACCESS_REVOKED = 4403;
// Sockets refused before any hello in a row (a bad token, no access): then stop retrying.
export const MAX_REFUSED = 6;

export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 15_000;

/** The wait before reconnect attempt `n` (0-based): doubling, capped, with ±20% jitter. */
export function backoff(n: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** n);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class TargetsFeed {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private refused = 0; // closes in a row before a hello
  private readonly endpoint: () => { url: string; protocols: string[] };
  private readonly on: Handlers;
  received = 0;

  constructor(endpoint: () => { url: string; protocols: string[] }, on: Handlers) {
    this.endpoint = endpoint;
    this.on = on;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close(1000, "closed by the page");
    this.socket = null;
    this.on.state("closed");
  }

  private end(state: LiveState, detail: string, sessionEnded = false): void {
    this.stopped = true;
    this.on.state(state, detail);
    if (sessionEnded) this.on.ended();
  }

  private open(): void {
    const { url, protocols } = this.endpoint();
    this.on.state(this.attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket(url, protocols);
    this.socket = socket;
    let greeted = false;
    socket.onmessage = (event) => {
      const data = JSON.parse(String(event.data));
      if (data.type === "hello") {
        greeted = true;
        this.attempt = 0;
        this.refused = 0;
        this.on.state("live");
      } else if (data.type === "targets") {
        this.received += 1;
        this.on.frame(data as TargetFrame);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      if (event.code === SESSION_ENDED) return this.end("closed", "the session ended", true);
      if (event.code === ACCESS_REVOKED) return this.end("closed", "you no longer have access");
      if (!greeted && ++this.refused >= MAX_REFUSED) return this.end("closed", "the server refuses the connection");
      const delay = backoff(this.attempt++);
      this.on.state("reconnecting", `closed (${event.code}); retrying in ${(delay / 1000).toFixed(1)} s`);
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
