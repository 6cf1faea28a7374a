// Rollouts: the list (newest first) and the form that starts one (POST /admin/rollouts).
import type { JSX, TargetedEvent } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "../api.ts";
import { useApp } from "../app.tsx";
import { Card, describe, ErrorNote, useLoad } from "../ui.tsx";
import { hashQuery, pct, useFresh, usePoll, when } from "./parts.tsx";
import { defaultForm, type Form, rolloutBody } from "./rolloutBody.ts";
import type { FirmwareRow, Rollout } from "./types.ts";

export function Rollouts() {
  const { api } = useApp();
  const list = useLoad(() => api.get<{ rollouts: Rollout[] }>("/admin/rollouts"));
  usePoll(list.reload, 10_000);
  return (
    <div>
      <RolloutList rollouts={list.data?.rollouts ?? null} error={list.error} />
      <NewRollout onCreated={list.reload} />
    </div>
  );
}

function RolloutList({ rollouts, error }: { rollouts: Rollout[] | null; error: string | null }) {
  return (
    <Card title="Rollouts">
      <ErrorNote error={error} />
      {rollouts && !rollouts.length && <p class="muted">No rollouts yet.</p>}
      {rollouts && rollouts.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Rollout</th>
              <th scope="col">Model</th>
              <th scope="col">Firmware</th>
              <th scope="col">Status</th>
              <th scope="col">Stage</th>
              <th scope="col">Finished</th>
              <th scope="col">Failure rate</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {rollouts.map((r) => (
              <tr key={r.rollout_id}>
                <td><a href={`#/ops/rollouts/${r.rollout_id}`} class="mono">{r.rollout_id}</a></td>
                <td>{r.model}</td>
                <td class="mono">{r.firmware_version}</td>
                <td><span class={`badge ops-status-${r.status}`}>{r.status}</span>{r.scheduled && " (scheduled)"}</td>
                <td>{r.current_stage + 1} of {r.stages.length} ({r.stages[r.current_stage]?.percent ?? "—"}%)</td>
                <td>{r.finished} ({r.failures} failed)</td>
                <td>{pct(r.failure_rate)}</td>
                <td>{when(r.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function initial(): Form {
  const q = hashQuery();
  return defaultForm(q.get("model") ?? "RS-1", q.get("version") ?? "");
}

type Failure = { message: string; details: { path: string; message: string }[] };

function NewRollout({ onCreated }: { onCreated: () => void }) {
  const { api } = useApp();
  const [form, setForm, latest] = useFresh<Form>(initial);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [created, setCreated] = useState<Rollout | null>(null);
  const firmware = useLoad(() => api.get<{ firmware: FirmwareRow[] }>("/admin/firmware"));
  const versions = (firmware.data?.firmware ?? []).filter((f) => f.model === form.model.trim());

  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm({ ...latest.current, [key]: value });
  const text = (key: keyof Form) => ({
    value: form[key] as string,
    onInput: (e: TargetedEvent<HTMLInputElement | HTMLSelectElement>) => set(key, e.currentTarget.value),
  });
  const check = (key: "allowDowngrade" | "radarErrors" | "rollback") => ({
    checked: form[key],
    onChange: (e: TargetedEvent<HTMLInputElement>) => set(key, e.currentTarget.checked),
  });

  const submit = async (event: Event) => {
    event.preventDefault();
    setFailure(null);
    setCreated(null);
    const built = rolloutBody(latest.current);
    if ("problem" in built) {
      setFailure({ message: built.problem, details: [] });
      return;
    }
    setBusy(true);
    try {
      const rollout = await api.post<Rollout>("/admin/rollouts", built.body);
      setCreated(rollout);
      onCreated();
    } catch (err) {
      setFailure({ message: describe(err), details: err instanceof ApiError ? err.details : [] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="New rollout">
      <form aria-label="New rollout" onSubmit={submit} class="ops-form" noValidate>
        <fieldset>
          <legend>Release</legend>
          <Field id="nr-model" label="Model">
            <input id="nr-model" required {...text("model")} />
          </Field>
          <Field id="nr-version" label="Firmware version">
            <input id="nr-version" required list="nr-versions" class="mono" {...text("version")} />
            <datalist id="nr-versions">
              {versions.map((f) => <option key={f.version} value={f.version} />)}
            </datalist>
          </Field>
          <Field id="nr-stages" label="Stages (%)" hint="Increasing percentages of the cohort, e.g. 10,50,100">
            <input id="nr-stages" aria-describedby="nr-stages-hint" {...text("stages")} />
          </Field>
          <Field id="nr-min-devices" label="Min. devices per stage" hint="Optional">
            <input id="nr-min-devices" type="number" min="0" step="1" aria-describedby="nr-min-devices-hint" {...text("minDevices")} />
          </Field>
          <Field id="nr-cohort" label="Cohort query" hint="Optional, e.g. tag:ring = canary and online; empty: every device of the model">
            <input id="nr-cohort" class="mono ops-wide" aria-describedby="nr-cohort-hint" {...text("cohort")} />
          </Field>
          <div class="ops-check">
            <input id="nr-downgrade" type="checkbox" {...check("allowDowngrade")} />
            <label for="nr-downgrade">Allow downgrade</label>
          </div>
        </fieldset>
        <fieldset>
          <legend>Safety</legend>
          <Field id="nr-threshold" label="Failure threshold (%)" hint="Abort when the 95% lower bound is above it">
            <input id="nr-threshold" type="number" min="0" max="100" step="any" aria-describedby="nr-threshold-hint" {...text("threshold")} />
          </Field>
          <Field id="nr-timeout" label="Timeout (minutes)" hint="A triggered device that has not finished by then has timed out">
            <input id="nr-timeout" type="number" min="0" step="any" aria-describedby="nr-timeout-hint" {...text("timeout")} />
          </Field>
          <Field id="nr-soak" label="Soak (minutes)" hint="How long an installed device must stay healthy">
            <input id="nr-soak" type="number" min="0" step="any" aria-describedby="nr-soak-hint" {...text("soak")} />
          </Field>
          <Field id="nr-reboots" label="Max. reboots during soak">
            <input id="nr-reboots" type="number" min="0" step="1" {...text("maxReboots")} />
          </Field>
          <Field id="nr-silence" label="Silence limit (minutes)" hint="No telemetry for this long fails the soak">
            <input id="nr-silence" type="number" min="0" step="any" aria-describedby="nr-silence-hint" {...text("silence")} />
          </Field>
          <div class="ops-check">
            <input id="nr-radar" type="checkbox" {...check("radarErrors")} />
            <label for="nr-radar">A radar error fails the soak</label>
          </div>
          <Field id="nr-inconclusive" label="On inconclusive" hint="extend: take more devices; hold: wait for an admin">
            <select id="nr-inconclusive" aria-describedby="nr-inconclusive-hint" {...text("onInconclusive")}>
              <option value="extend">extend</option>
              <option value="hold">hold</option>
            </select>
          </Field>
          <div class="ops-check">
            <input id="nr-rollback" type="checkbox" {...check("rollback")} />
            <label for="nr-rollback">Roll back on abort</label>
          </div>
        </fieldset>
        <fieldset>
          <legend>Pace and timing</legend>
          <Field id="nr-rate" label="Max. triggers per minute" hint="Optional: no limit when empty">
            <input id="nr-rate" type="number" min="1" step="1" aria-describedby="nr-rate-hint" {...text("maxPerMinute")} />
          </Field>
          <Field id="nr-ramp-base" label="Ramp: start per minute" hint="Optional: grows by the factor after each run of successes">
            <input id="nr-ramp-base" type="number" min="1" step="1" aria-describedby="nr-ramp-base-hint" {...text("rampBase")} />
          </Field>
          <Field id="nr-ramp-factor" label="Ramp: factor">
            <input id="nr-ramp-factor" type="number" min="1" step="any" placeholder="2" {...text("rampFactor")} />
          </Field>
          <Field id="nr-ramp-after" label="Ramp: after successes">
            <input id="nr-ramp-after" type="number" min="1" step="1" placeholder="10" {...text("rampAfter")} />
          </Field>
          <Field id="nr-jitter" label="Jitter (seconds)" hint="Each device waits a random 0..jitter before downloading">
            <input id="nr-jitter" type="number" min="0" step="1" aria-describedby="nr-jitter-hint" {...text("jitter")} />
          </Field>
          <Field id="nr-window-start" label="Window start" hint="Daily maintenance window, device local time (optional)">
            <input id="nr-window-start" type="time" aria-describedby="nr-window-start-hint" {...text("windowStart")} />
          </Field>
          <Field id="nr-window-end" label="Window end">
            <input id="nr-window-end" type="time" {...text("windowEnd")} />
          </Field>
          <Field id="nr-install" label="Install" hint="window: download now, install when the window opens">
            <select id="nr-install" aria-describedby="nr-install-hint" {...text("install")}>
              <option value="immediate">immediate</option>
              <option value="window">window</option>
            </select>
          </Field>
          <Field id="nr-start-at" label="Start at" hint="Optional, your local time">
            <input id="nr-start-at" type="datetime-local" aria-describedby="nr-start-at-hint" {...text("startAt")} />
          </Field>
        </fieldset>
        <div class="row">
          <button type="submit" disabled={busy}>{busy ? "Creating…" : "Create rollout"}</button>
        </div>
        {failure && (
          <div class="error" role="alert">
            <p>{failure.message}</p>
            {failure.details.some((d) => d.path || !failure.message.includes(d.message)) && (
              <ul class="issues">
                {failure.details.map((d, i) => (
                  <li key={i}>{d.path && <><span class="mono">{d.path}</span>: </>}{d.message}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <p role="status" class="ok">
          {created && (
            <>
              Rollout created ({created.model} → {created.firmware_version}, {created.status}).{" "}
              <a href={`#/ops/rollouts/${created.rollout_id}`}>Open the new rollout</a>
            </>
          )}
        </p>
      </form>
    </Card>
  );
}

function Field({ id, label, hint, children }: { id: string; label: string; hint?: string; children: JSX.Element | JSX.Element[] }) {
  return (
    <div class="ops-field">
      <label for={id}>{label}</label>
      {children}
      {hint && <small id={`${id}-hint`} class="muted">{hint}</small>}
    </div>
  );
}
