// One rollout: status, stages, the live failure-rate interval, its devices, and the admin's
// actions (pause, resume, advance, abort). Refreshed every 2 s while it is live.
import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app.tsx";
import { Card, describe, ErrorNote } from "../ui.tsx";
import { Pager, pct, usePoll, when, whenMs } from "./parts.tsx";
import { StageBar } from "./StageBar.tsx";
import { LIVE, type Rollout, type RolloutDevice } from "./types.ts";

const DEVICE_PAGES = 10; // 500 each: the stage table counts up to 5,000 devices
const SHOWN = 100;
type Action = "pause" | "resume" | "advance" | "abort";

export function RolloutPage({ rolloutId }: { rolloutId: string }) {
  const { api } = useApp();
  const [rollout, setRollout] = useState<Rollout | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [devices, setDevices] = useState<{ rows: RolloutDevice[]; truncated: boolean } | null>(null);
  const [devicesError, setDevicesError] = useState<string | null>(null);
  // Answers apply in the order their requests were made: a poll that started before an
  // action must not overwrite the action's newer answer.
  const issued = useRef(0);
  const applied = useRef(0);
  const path = `/admin/rollouts/${encodeURIComponent(rolloutId)}`;

  const apply = (seq: number, r: Rollout) => {
    if (seq < applied.current) return;
    applied.current = seq;
    setRollout(r);
    setError(null);
  };
  const load = async () => {
    const seq = ++issued.current;
    try {
      apply(seq, await api.get<Rollout>(path));
    } catch (err) {
      if (seq >= applied.current) setError(describe(err));
    }
  };
  const devicesSeq = useRef(0);
  const loadDevices = async () => {
    const seq = ++devicesSeq.current;
    try {
      const rows: RolloutDevice[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < DEVICE_PAGES; page++) {
        const got: { devices: RolloutDevice[]; next_cursor: string | null } = await api.get(`${path}/devices`, { limit: 500, cursor });
        rows.push(...got.devices);
        cursor = got.next_cursor;
        if (!cursor) break;
      }
      if (seq !== devicesSeq.current) return; // a newer load is under way
      setDevices({ rows, truncated: cursor !== null });
      setDevicesError(null);
    } catch (err) {
      if (seq === devicesSeq.current) setDevicesError(describe(err));
    }
  };

  useEffect(() => {
    load();
  }, [rolloutId]);
  const live = rollout !== null && LIVE.includes(rollout.status);
  usePoll(load, 2_000, live);
  // The device rows again whenever the counts or the stage move (and now and then anyway).
  const progress = rollout ? JSON.stringify([rollout.counts, rollout.current_stage, rollout.status]) : "";
  useEffect(() => {
    if (progress) loadDevices();
  }, [progress]);
  usePoll(loadDevices, 30_000, live);

  if (!rollout) {
    return (
      <div>
        <p><a href="#/ops/rollouts">← All rollouts</a></p>
        {error ? <ErrorNote error={error} /> : <p class="muted">Loading rollout {rolloutId}…</p>}
      </div>
    );
  }
  const stage = rollout.stages[rollout.current_stage];
  return (
    <div>
      <p><a href="#/ops/rollouts">← All rollouts</a></p>
      <h2 class="ops-page-title">
        Rollout <span class="mono">{rollout.rollout_id}</span>: {rollout.model} → <span class="mono">{rollout.firmware_version}</span>
      </h2>
      <p role="status" aria-label="Rollout status" class="ops-rollout-status">
        <span class={`badge ops-status-${rollout.status}`}>{rollout.status}</span>
        {rollout.scheduled && rollout.status === "active" && ` (scheduled: starts ${when(rollout.policy.start_at ?? null)})`}
        {" "}· stage {rollout.current_stage + 1} of {rollout.stages.length}
        {stage && ` (${stage.percent}% of the cohort)`}
        {rollout.status_reason && ` · ${rollout.status_reason}`}
      </p>
      <ErrorNote error={error && `Refreshing failed: ${error}`} />
      <Actions rollout={rollout} path={path} onDone={apply} issue={() => ++issued.current} />
      <div class="grid">
        <Card title="Failure rate">
          <StageBar id="ops-rollout-rate" failures={rollout.failures} finished={rollout.finished} threshold={rollout.failure_threshold} />
          <p class="muted">
            The stage advances when the upper bound is below the threshold, and the rollout aborts when the lower bound
            is above it (with at least 2 failures). The server's interval: {pct(rollout.failure_rate_ci95[0], 2)} to{" "}
            {pct(rollout.failure_rate_ci95[1], 2)}.
          </p>
        </Card>
        <Counts rollout={rollout} />
      </div>
      <Stages rollout={rollout} devices={devices?.rows ?? null} truncated={devices?.truncated ?? false} />
      <div class="grid">
        <Devices rows={devices?.rows ?? null} error={devicesError} />
        <Details rollout={rollout} />
      </div>
    </div>
  );
}

function Actions({ rollout, path, onDone, issue }: {
  rollout: Rollout;
  path: string;
  onDone: (seq: number, r: Rollout) => void;
  issue: () => number;
}) {
  const { api } = useApp();
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState("");
  const [confirming, setConfirming] = useState(false);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const live = LIVE.includes(rollout.status);
  const last = rollout.current_stage + 1 >= rollout.stages.length;

  useEffect(() => {
    if (confirming) cancelRef.current?.focus();
  }, [confirming]);

  const act = async (action: Action) => {
    setBusy(action);
    setError(null);
    setMessage("");
    const seq = issue();
    try {
      const query = action === "advance" ? { from_stage: rollout.current_stage } : undefined;
      const reply = await api.call<Rollout>("POST", `${path}/${action}`, { query });
      onDone(seq, reply.body);
      setMessage(`${label(action)}: the rollout is ${reply.body.status}.`);
      setConfirming(false);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="card" aria-label="Actions">
      <div class="row">
        <button type="button" onClick={() => act("pause")} disabled={busy !== null || rollout.status !== "active"}>
          Pause
        </button>
        <button type="button" onClick={() => act("resume")} disabled={busy !== null || rollout.status !== "paused"}>
          Resume
        </button>
        <button
          type="button"
          onClick={() => act("advance")}
          disabled={busy !== null || rollout.status !== "active" || last}
          aria-describedby={last && live ? "ops-advance-hint" : undefined}
        >
          Advance
        </button>
        {!confirming && (
          <button type="button" class="danger" onClick={() => setConfirming(true)} disabled={busy !== null || !live}>
            Abort
          </button>
        )}
        {last && live && <span id="ops-advance-hint" class="muted">The last stage completes by itself.</span>}
      </div>
      {confirming && (
        <div class="ops-confirm">
          <p>
            Abort rollout <span class="mono">{rollout.rollout_id}</span>? Devices that have not started installing{" "}
            {rollout.firmware_version} will not get it
            {rollout.policy.rollback ? ", and devices that installed it are offered their previous version" : ""}.
            This cannot be undone.
          </p>
          <div class="row">
            <button type="button" class="danger" onClick={() => act("abort")} disabled={busy !== null}>
              {busy === "abort" ? "Aborting…" : "Confirm abort"}
            </button>
            <button type="button" class="secondary" ref={cancelRef} onClick={() => setConfirming(false)} disabled={busy !== null}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <ErrorNote error={error} />
      <p role="status" class="muted">{busy ? `${doing(busy)}…` : message}</p>
    </section>
  );
}

function label(action: Action): string {
  return { pause: "Paused", resume: "Resumed", advance: "Advanced", abort: "Aborted" }[action];
}

function doing(action: Action): string {
  return { pause: "Pausing", resume: "Resuming", advance: "Advancing", abort: "Aborting" }[action];
}

/** A device's status for the counts: `success` split into soaking / soak_failed as the
 * server's status_counts does. */
function statusOf(d: RolloutDevice): string {
  if (d.status === "success" && d.soak === "soaking") return "soaking";
  if (d.status === "success" && d.soak === "failed") return "soak_failed";
  return d.status;
}

const IN_PROGRESS = ["triggered", "downloading", "verifying", "downloaded", "installing", "rebooting"];
const FAILED = ["failed", "timed_out", "soak_failed"];

type StageCounts = { total: number; pending: number; progress: number; soaking: number; success: number; failed: number; other: number };

function stageCounts(rows: RolloutDevice[], stage: number): StageCounts {
  const c: StageCounts = { total: 0, pending: 0, progress: 0, soaking: 0, success: 0, failed: 0, other: 0 };
  for (const d of rows) {
    if (d.stage !== stage) continue;
    const s = statusOf(d);
    c.total++;
    if (s === "pending") c.pending++;
    else if (IN_PROGRESS.includes(s)) c.progress++;
    else if (s === "soaking") c.soaking++;
    else if (s === "success") c.success++;
    else if (FAILED.includes(s)) c.failed++;
    else c.other++;
  }
  return c;
}

function Stages({ rollout, devices, truncated }: { rollout: Rollout; devices: RolloutDevice[] | null; truncated: boolean }) {
  return (
    <Card title="Stages">
      {truncated && <p class="muted">Counted over the first {DEVICE_PAGES * 500} devices.</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col">Share</th>
            <th scope="col">Devices</th>
            <th scope="col">Pending</th>
            <th scope="col">In progress</th>
            <th scope="col">Soaking</th>
            <th scope="col">Succeeded</th>
            <th scope="col">Failed</th>
            <th scope="col">Failure interval</th>
          </tr>
        </thead>
        <tbody>
          {rollout.stages.map((s, i) => {
            const c = devices ? stageCounts(devices, i) : null;
            const current = i === rollout.current_stage;
            return (
              <tr key={i} class={current ? "ops-current" : undefined} aria-current={current ? "step" : undefined}>
                <th scope="row">{i + 1}{current ? " (current)" : i < rollout.current_stage ? " (done)" : ""}</th>
                <td>{s.percent}%{s.min_devices ? `, min. ${s.min_devices}` : ""}{s.soak_minutes ? `, soak ${s.soak_minutes} min` : ""}</td>
                <td>{c ? c.total : "…"}</td>
                <td>{c ? c.pending : "…"}</td>
                <td>{c ? c.progress : "…"}</td>
                <td>{c ? c.soaking : "…"}</td>
                <td>{c ? c.success : "…"}</td>
                <td>{c ? c.failed : "…"}</td>
                <td class="ops-stage-cell">
                  {c && c.total > 0 ? (
                    <StageBar id={`ops-stage-${i}`} failures={c.failed} finished={c.failed + c.success} threshold={rollout.failure_threshold} compact />
                  ) : (
                    <span class="muted">no devices</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Card>
  );
}

const COUNT_ORDER = ["pending", ...IN_PROGRESS, "soaking", "success", "failed", "timed_out", "soak_failed", "cancelled", "skipped"];

function Counts({ rollout }: { rollout: Rollout }) {
  const names = [...COUNT_ORDER.filter((s) => s in rollout.counts), ...Object.keys(rollout.counts).filter((s) => !COUNT_ORDER.includes(s))];
  return (
    <Card title="Devices by status">
      {!names.length && <p class="muted">No devices enrolled yet.</p>}
      {names.length > 0 && (
        <table>
          <thead>
            <tr><th scope="col">Status</th><th scope="col">Devices</th></tr>
          </thead>
          <tbody>
            {names.map((s) => (
              <tr key={s}><td>{s.replace("_", " ")}</td><td>{rollout.counts[s]}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      {Object.keys(rollout.soak_failures).length > 0 && (
        <p>
          Failed soaks:{" "}
          {Object.entries(rollout.soak_failures).map(([why, n]) => `${why.replace("_", " ")} ${n}`).join(", ")}
        </p>
      )}
    </Card>
  );
}

function Details({ rollout }: { rollout: Rollout }) {
  const p = rollout.policy;
  const rate = p.rate;
  return (
    <Card title="Policy">
      <dl class="ops-dl">
        <dt>Cohort</dt>
        <dd>
          {rollout.cohort.query ? <span class="mono">{rollout.cohort.query}</span> : "every device of the model"}
          {` · ${rollout.cohort.percent}% enrolled`}
          {rollout.cohort.joined_after_start ? ` · ${rollout.cohort.joined_after_start} joined later` : ""}
        </dd>
        <dt>Threshold</dt><dd>{pct(rollout.failure_threshold)}</dd>
        <dt>Timeout</dt><dd>{rollout.timeout_minutes} min</dd>
        <dt>Soak</dt>
        <dd>
          {p.health ? `${p.health.soak_minutes} min, at most ${p.health.max_reboots} reboots, silence ${p.health.silence_minutes} min${p.health.radar_errors ? ", radar errors fail" : ""}` : "—"}
        </dd>
        <dt>Rate</dt>
        <dd>
          {rate ? `at most ${rate.max_per_minute}/min` : "no limit"}
          {rate?.ramp ? `, ramp from ${rate.ramp.base_per_minute}/min ×${rate.ramp.factor} every ${rate.ramp.after_successes} successes` : ""}
          {rollout.rate ? ` · now ${rollout.rate.per_minute_now}/min after ${rollout.rate.consecutive_successes} successes` : ""}
        </dd>
        <dt>Jitter</dt><dd>{p.jitter_s ?? 0} s</dd>
        <dt>Window</dt><dd>{p.window ? `${p.window.start}–${p.window.end}, install ${p.install ?? "immediate"}` : "any time"}</dd>
        <dt>Start at</dt><dd>{p.start_at ? when(p.start_at) : "at once"}</dd>
        <dt>On inconclusive</dt><dd>{p.on_inconclusive ?? "extend"}</dd>
        <dt>Rollback</dt>
        <dd>
          {p.rollback ? "on abort" : "no"}
          {rollout.rollback.rollout_id && <> · <a href={`#/ops/rollouts/${rollout.rollback.rollout_id}`}>rollback rollout</a></>}
          {rollout.rollback.of && <> · rolls back <a href={`#/ops/rollouts/${rollout.rollback.of}`}>the aborted rollout</a></>}
        </dd>
        <dt>Waiting online</dt><dd>{rollout.waiting_online}</dd>
        <dt>Security version</dt><dd>{rollout.security_version}</dd>
        <dt>Created</dt><dd>{when(rollout.created_at)}</dd>
      </dl>
    </Card>
  );
}

function Devices({ rows, error }: { rows: RolloutDevice[] | null; error: string | null }) {
  const [shown, setShown] = useState(SHOWN);
  return (
    <Card title="Devices in this rollout">
      <ErrorNote error={error} />
      {rows && !rows.length && <p class="muted">No devices enrolled yet.</p>}
      {rows && rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Stage</th>
              <th scope="col">Status</th>
              <th scope="col">Soak</th>
              <th scope="col">From</th>
              <th scope="col">Triggered</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, shown).map((d) => (
              <tr key={d.device_id}>
                <td><a href={`#/ops/devices/${d.device_id}`} class="mono">{d.device_id.slice(0, 12)}…</a>{d.joined_late ? " (joined late)" : ""}</td>
                <td>{d.stage === null ? "—" : d.stage + 1}</td>
                <td>{d.status.replace("_", " ")}{d.rolled_back ? " (rolled back)" : ""}</td>
                <td>{d.soak ?? "—"}{d.soak_error ? `: ${d.soak_error}` : ""}</td>
                <td class="mono">{d.from_version ?? "—"}</td>
                <td>{whenMs(d.triggered_at)}{d.trigger_count > 1 ? ` (×${d.trigger_count})` : ""}</td>
                <td>{d.error_message ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager more={(rows?.length ?? 0) > shown} loading={false} onMore={() => setShown((n) => n + SHOWN)} what="devices" />
    </Card>
  );
}
