// The ops console's pure parts: the Wilson interval (the same numbers as
// workers/rs1/ota/safety.py) and the POST /admin/rollouts body the New rollout form builds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultForm, rolloutBody } from "../../src/ops/rolloutBody.ts";
import { mayAdvance, shouldAbort, verdict, wilson } from "../../src/ops/wilson.ts";

test("wilson matches the server's safety.wilson", () => {
  // python: from rs1.ota.safety import wilson; wilson(f, n)
  const expected: [number, number, number, number][] = [
    [0, 0, 0, 1],
    [0, 10, 0, 0.2775327998628892],
    [1, 3, 0.06149194472039621, 0.7923403991979522],
    [2, 100, 0.00550196755016235, 0.07001179072854388],
    [5, 5, 0.5655175352168251, 1],
    [3, 1000, 0.0010207838811386186, 0.008783014053503173],
  ];
  for (const [f, n, low, high] of expected) {
    const iv = wilson(f, n);
    assert.ok(Math.abs(iv.low - low) < 1e-12 && Math.abs(iv.high - high) < 1e-12, `${f}/${n}`);
  }
});

test("one failure never aborts; the bounds decide advance and abort", () => {
  assert.equal(shouldAbort(1, 3, 0.02), false);
  assert.equal(shouldAbort(5, 5, 0.02), true);
  assert.equal(mayAdvance(3, 1000, 0.02), true);
  assert.equal(mayAdvance(0, 0, 0.02), false);
  assert.equal(verdict(2, 100, 0.02), "inconclusive");
  assert.equal(verdict(0, 0, 0.02), "no data");
});

test("the default form sends the stages, the threshold as a fraction and the health policy", () => {
  const built = rolloutBody(defaultForm("RS-1", "1.2.0"));
  assert.ok("body" in built);
  assert.deepEqual(built.body, {
    model: "RS-1",
    firmware_version: "1.2.0",
    stages: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
    failure_threshold: 0.02,
    timeout_minutes: 60,
    allow_downgrade: false,
    policy: {
      jitter_s: 0,
      install: "immediate",
      health: { soak_minutes: 15, max_reboots: 1, silence_minutes: 5, radar_errors: true },
      rollback: false,
      on_inconclusive: "extend",
    },
  });
});

test("rate, ramp, window, start and cohort go into the policy; a bad stage is named", () => {
  const form = {
    ...defaultForm("RS-1", "1.2.0"),
    cohort: " tag:ring = canary ",
    maxPerMinute: "50",
    rampBase: "5",
    rampFactor: "",
    windowStart: "02:00",
    windowEnd: "04:00",
    install: "window",
    startAt: "2026-12-01T02:00",
    onInconclusive: "hold",
    minDevices: "3",
  };
  const built = rolloutBody(form);
  assert.ok("body" in built);
  const policy = built.body.policy as Record<string, unknown>;
  assert.equal(built.body.cohort, "tag:ring = canary");
  assert.deepEqual((built.body.stages as unknown[])[0], { percent: 10, min_devices: 3 });
  assert.deepEqual(policy.rate, { max_per_minute: 50, ramp: { base_per_minute: 5 } });
  assert.deepEqual(policy.window, { start: "02:00", end: "04:00" });
  assert.equal(policy.on_inconclusive, "hold");
  assert.ok(/^2026-12-0[12]T\d\d:00:00\.000Z$/.test(String(policy.start_at)));
  assert.deepEqual(rolloutBody({ ...form, stages: "10, x" }), { problem: 'Stages (%): "x" is not a number.' });
});
