// The live view's reconnect backoff and the mapping of API issue paths onto the editor.
import assert from "node:assert/strict";
import { test } from "node:test";
import { targetOf } from "../src/editor/types.ts";
import {
  ACCESS_REVOKED,
  backoff,
  FIRST_DELAY_MS,
  MAX_DELAY_MS,
  MAX_REFUSED,
  SESSION_ENDED,
  TargetsFeed,
} from "../src/live/targets.ts";

test("backoff doubles from 0.5 s to a 15 s cap, within ±20% jitter", () => {
  for (let n = 0; n < 12; n++) {
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** n);
    assert.equal(backoff(n, () => 0.5), base);
    assert.equal(backoff(n, () => 0), Math.round(base * 0.8));
    assert.equal(backoff(n, () => 1), Math.round(base * 1.2));
  }
});

test("issue paths point at a zone, a vertex or a field", () => {
  assert.deepEqual(targetOf("zones.2.vertices.3"), { zone: 2, vertex: 3, field: "vertices" });
  assert.deepEqual(targetOf("zones.0.vertices"), { zone: 0, vertex: null, field: "vertices" });
  assert.deepEqual(targetOf("zones.1.name"), { zone: 1, vertex: null, field: "name" });
  assert.deepEqual(targetOf("sensitivity"), { zone: null, vertex: null, field: "sensitivity" });
  assert.deepEqual(targetOf(""), { zone: null, vertex: null, field: null });
});

/** A stand-in for the browser's WebSocket: the test plays the server's side. */
class FakeSocket {
  static made: FakeSocket[] = [];
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  constructor() {
    FakeSocket.made.push(this);
  }
  close(): void {}
}

function feedWith(states: string[], ended: { count: number }) {
  FakeSocket.made = [];
  (globalThis as { WebSocket?: unknown }).WebSocket = FakeSocket;
  return new TargetsFeed(() => ({ url: "ws://x/targets", protocols: ["rs1.targets.v1"] }), {
    frame: () => undefined,
    state: (s) => states.push(s),
    ended: () => (ended.count += 1),
  });
}

test("a 4401 close ends the session and stops; a 4403 close stops without ending it", () => {
  for (const [code, endings] of [[SESSION_ENDED, 1], [ACCESS_REVOKED, 0]] as const) {
    const states: string[] = [];
    const ended = { count: 0 };
    const feed = feedWith(states, ended);
    feed.start();
    FakeSocket.made[0].onmessage?.({ data: JSON.stringify({ type: "hello" }) });
    FakeSocket.made[0].onclose?.({ code });
    assert.equal(ended.count, endings);
    assert.deepEqual(states, ["connecting", "live", "closed"]);
  }
});

test("sockets refused before their hello are retried, then given up", () => {
  const realSetTimeout = globalThis.setTimeout;
  const delays: number[] = [];
  (globalThis as { setTimeout: unknown }).setTimeout = (fn: () => void, ms: number) => {
    delays.push(ms);
    fn(); // the retry opens the next socket at once
    return 0;
  };
  try {
    const states: string[] = [];
    const feed = feedWith(states, { count: 0 });
    feed.start();
    for (let n = 0; n < MAX_REFUSED; n++) FakeSocket.made[n].onclose?.({ code: 1006 });
    assert.equal(FakeSocket.made.length, MAX_REFUSED);
    assert.equal(delays.length, MAX_REFUSED - 1);
    assert.ok(delays[1] > delays[0], "the waits grow");
    assert.equal(states.at(-1), "closed");
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
});
