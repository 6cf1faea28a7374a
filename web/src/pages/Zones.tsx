// The zone editor's page section: edit, validate as you go, save with If-Match, resolve a
// conflict (merge or reload), watch the device apply or reject, roll back to a kept version,
// and see live targets over the zones.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, type Issue } from "../api.ts";
import { useApp } from "../app.tsx";
import { changes, merge, type Change } from "../editor/merge.ts";
import { EMPTY_CONFIG, targetOf, type Point, type Zone, type ZoneConfig } from "../editor/types.ts";
import { issues as validate } from "../editor/validate.ts";
import { ZoneEditor, type LiveTarget, type Selection } from "../editor/ZoneEditor.tsx";
import { type LiveState, TargetsFeed, type TargetFrame } from "../live/targets.ts";
import { ago, describe, useInterval } from "../ui.tsx";

export type ZonesView = {
  device_id: string;
  desired_version: number;
  applied_version: number;
  config: ZoneConfig | null;
  updated_by: string | null;
  updated_at: string | null;
  last_rejection: { version: number; error: string | null } | null;
  versions: { version: number; updated_at: string; updated_by: string | null }[];
};

type Conflict = { theirs: ZonesView; ours: Change[]; mine: Change[] };
const NO_SELECTION: Selection = { zone: null, vertex: null };
const copy = (c: ZoneConfig): ZoneConfig => JSON.parse(JSON.stringify(c));

export function Zones({ deviceId, canEdit }: { deviceId: string; canEdit: boolean }) {
  const { api } = useApp();
  const [view, setView] = useState<ZonesView | null>(null);
  const [base, setBase] = useState<ZoneConfig>(EMPTY_CONFIG); // what our draft started from
  const [draft, setDraft] = useState<ZoneConfig>(EMPTY_CONFIG);
  const [selection, setSelection] = useState<Selection>(NO_SELECTION);
  const [drawing, setDrawing] = useState<Point[] | null>(null);
  const [serverIssues, setServerIssues] = useState<Issue[]>([]);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [loaded, setLoaded] = useState(false); // no editing before the server's zones are in
  const version = useRef(0);
  const live = useLiveTargets(deviceId);
  const dirty = JSON.stringify(draft) !== JSON.stringify(base);

  const adopt = (v: ZonesView) => {
    const config = v.config ? copy(v.config) : copy(EMPTY_CONFIG);
    version.current = v.desired_version;
    setView(v);
    setBase(config);
    setDraft(copy(config));
    setServerIssues([]);
    setConflict(null);
  };
  const refresh = async (adoptIt: boolean) => {
    try {
      const v = await api.get<ZonesView>(`/api/devices/${deviceId}/zones`);
      // A newer version saved elsewhere replaces an unedited draft; an edited one keeps its
      // base, and its save meets the 409 that offers the merge.
      if (adoptIt || (!dirty && v.desired_version !== version.current)) adopt(v);
      else setView(v); // desired vs applied, versions: the draft stays as it is
      setLoaded(true);
      setError(null);
    } catch (err) {
      setError(describe(err));
    }
  };
  useEffect(() => {
    refresh(true);
  }, [deviceId]);
  // Desired vs applied, live: the device acknowledges (applied) or rejects within seconds;
  // once it has, a slower poll still notices saves made elsewhere.
  const settled = view !== null && view.applied_version === view.desired_version;
  useInterval(() => refresh(!loaded), settled ? 10_000 : 2_000);

  const localIssues = useMemo(() => validate(draft), [draft]);
  const shown = serverIssues.length ? serverIssues : localIssues;

  const edit = (change: (c: ZoneConfig) => void) => {
    const next = copy(draft);
    change(next);
    setDraft(next);
    setServerIssues([]); // the server judged the old draft
  };
  const zone = selection.zone !== null ? draft.zones[selection.zone] : null;

  const save = async () => {
    setBusy(true);
    setNote(null);
    try {
      const written = await api.call<ZonesView & { delivered: boolean }>("PUT", `/api/devices/${deviceId}/zones`, {
        body: draft, ifMatch: version.current,
      });
      adopt(written.body);
      setNote({ ok: true, text: `Saved version ${written.body.desired_version}; ${written.body.delivered ? "sent to the device" : "the device gets it when it connects"}.` });
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        setServerIssues(err.details.length ? err.details : [{ path: "", message: err.message }]);
        setNote({ ok: false, text: `The server refused the zones: ${err.message}` });
      } else if (err instanceof ApiError && err.status === 409) {
        try {
          const theirs = await api.get<ZonesView>(`/api/devices/${deviceId}/zones`);
          setConflict({ theirs, ours: changes(base, draft), mine: changes(base, theirs.config ?? EMPTY_CONFIG) });
        } catch (again) {
          setNote({ ok: false, text: `The zones changed meanwhile, and reloading them failed: ${describe(again)}` });
        }
      } else {
        setNote({ ok: false, text: describe(err) });
      }
    } finally {
      setBusy(false);
    }
  };
  const resolve = (how: "merge" | "reload") => {
    if (!conflict) return;
    const theirs = conflict.theirs.config ?? EMPTY_CONFIG;
    if (how === "reload") {
      adopt(conflict.theirs);
      setNote({ ok: true, text: `Reloaded version ${conflict.theirs.desired_version}; your edits were dropped.` });
      return;
    }
    const merged = merge(base, draft, theirs);
    version.current = conflict.theirs.desired_version;
    setView(conflict.theirs);
    setBase(copy(theirs));
    setDraft(merged.config);
    setConflict(null);
    setNote({ ok: true, text: `Merged onto version ${conflict.theirs.desired_version}${merged.conflicts.length ? `; yours won on ${merged.conflicts.join(", ")}` : ""}. Review and save.` });
  };
  const rollback = async (to: number) => {
    if (dirty && !confirm(`Roll back to version ${to} and drop your unsaved edits?`)) return;
    try {
      const written = await api.call<ZonesView>("POST", `/api/devices/${deviceId}/zones/rollback`, {
        body: { version: to }, ifMatch: version.current,
      });
      adopt(written.body);
      setNote({ ok: true, text: `Version ${to} is live again as version ${written.body.desired_version}.` });
    } catch (err) {
      setNote({ ok: false, text: describe(err) });
      if (err instanceof ApiError && err.status === 409) refresh(true); // someone saved: show theirs
    }
  };

  return (
    <div class="grid">
      <section class="card" aria-label="Zones">
        <h2>Zones</h2>
        <ApplyState view={view} />
        <ErrorLine text={error} />
        <ZoneEditor
          zones={draft.zones}
          selection={selection}
          issues={shown}
          targets={live.targets}
          drawing={drawing}
          readOnly={!canEdit || !loaded}
          onSelect={setSelection}
          onMove={(z, v, to) => edit((c) => { c.zones[z].vertices[v] = to; })}
          onInsert={(z, after, at) => {
            edit((c) => { c.zones[z].vertices.splice(after + 1, 0, at); });
            setSelection({ zone: z, vertex: after + 1 });
          }}
          onDelete={(z, v) => {
            if (draft.zones[z].vertices.length <= 3) {
              setNote({ ok: false, text: "A zone needs at least 3 vertices; delete the zone instead." });
              return;
            }
            edit((c) => { c.zones[z].vertices.splice(v, 1); });
            setSelection({ zone: z, vertex: Math.max(0, v - 1) });
          }}
          onDrawPoint={(at) => setDrawing((d) => (d && d.length < 12 ? [...d, at] : d))}
          onDrawFinish={() => finishDrawing()}
          onDrawCancel={() => setDrawing(null)}
        />
        <LiveStatus live={live} />
        {canEdit && loaded && (
          <div class="row">
            {drawing ? (
              <>
                <span role="status">Drawing: {drawing.length} points. Click on the canvas; Enter finishes, Escape cancels.</span>
                <button type="button" onClick={() => finishDrawing()} disabled={drawing.length < 3}>Finish zone</button>
                <button type="button" class="secondary" onClick={() => setDrawing(null)}>Cancel</button>
              </>
            ) : (
              <>
                <button type="button" class="secondary" onClick={() => setDrawing([])}>Draw zone</button>
                <button type="button" class="secondary" onClick={addRectangle}>Add rectangle</button>
              </>
            )}
            <button type="button" onClick={save} disabled={busy || !dirty}>Save zones</button>
            {dirty && <span class="muted">Unsaved changes</span>}
          </div>
        )}
        {note && <p class={note.ok ? "ok" : "error"} role="status" aria-label="Save result">{note.text}</p>}
        {conflict && <ConflictPanel conflict={conflict} onResolve={resolve} />}
      </section>
      <div>
        <section class="card" aria-label="Zone settings">
          <h2>Settings</h2>
          <IssueList issues={shown} zones={draft.zones} fromServer={serverIssues.length > 0} />
          <ZoneList zones={draft.zones} selected={selection.zone} onSelect={(z) => setSelection({ zone: z, vertex: null })} />
          {zone && selection.zone !== null && (
            <ZoneFields zone={zone} readOnly={!canEdit}
              onChange={(patch) => edit((c) => { Object.assign(c.zones[selection.zone as number], patch); })}
              onRemove={() => { edit((c) => { c.zones.splice(selection.zone as number, 1); }); setSelection(NO_SELECTION); }} />
          )}
          <fieldset disabled={!canEdit}>
            <legend>Defaults for every zone</legend>
            <label>Sensitivity (1–10)
              <input type="number" min={1} max={10} value={draft.sensitivity}
                onInput={(e) => number(e.currentTarget.value, (n) => edit((c) => { c.sensitivity = n; }))} />
            </label>
            <label>Hold time (s)
              <input type="number" min={0} max={3600} value={draft.hold_time_s}
                onInput={(e) => number(e.currentTarget.value, (n) => edit((c) => { c.hold_time_s = n; }))} />
            </label>
          </fieldset>
        </section>
        <History view={view} canEdit={canEdit} onRollback={rollback} />
      </div>
    </div>
  );

  function finishDrawing() {
    if (!drawing || drawing.length < 3) return;
    const name = freeName(draft.zones);
    edit((c) => { c.zones.push({ name, type: "include", vertices: drawing }); });
    setSelection({ zone: draft.zones.length, vertex: null });
    setDrawing(null);
  }
  function addRectangle() {
    const name = freeName(draft.zones);
    const n = draft.zones.length;
    const x = -1000 + (n % 4) * 500;
    const y = 1500 + (n % 3) * 800;
    edit((c) => { c.zones.push({ name, type: "include", vertices: [[x, y], [x + 800, y], [x + 800, y + 700], [x, y + 700]] }); });
    setSelection({ zone: n, vertex: null });
  }
}

/** A number typed into a required field; a field being cleared to retype changes nothing. */
function number(raw: string, use: (n: number) => void): void {
  if (raw.trim() !== "" && Number.isFinite(Number(raw))) use(Number(raw));
}

function freeName(zones: Zone[]): string {
  for (let i = zones.length + 1; ; i++) if (!zones.some((z) => z.name === `zone ${i}`)) return `zone ${i}`;
}

function ErrorLine({ text }: { text: string | null }) {
  return text ? <p class="error" role="alert">{text}</p> : null;
}

function ApplyState({ view }: { view: ZonesView | null }) {
  if (!view) return <p class="muted">Loading zones…</p>;
  const rejected = view.last_rejection && view.last_rejection.version === view.desired_version;
  let text: string;
  let cls = "muted";
  if (!view.desired_version) text = "No zones saved yet.";
  else if (rejected) {
    text = `The device rejected version ${view.desired_version}: ${view.last_rejection?.error ?? "no reason given"}`;
    cls = "error";
  } else if (view.applied_version === view.desired_version) {
    text = `The device applied version ${view.applied_version}.`;
    cls = "ok";
  } else {
    text = `Desired version ${view.desired_version}; the device runs version ${view.applied_version}. Waiting for it to apply…`;
    cls = "warn";
  }
  return <p class={cls} role="status" aria-label="Desired versus applied" data-desired={view.desired_version} data-applied={view.applied_version}>{text}</p>;
}

function IssueList({ issues, zones, fromServer }: { issues: Issue[]; zones: Zone[]; fromServer: boolean }) {
  if (!issues.length) return <p class="ok">The zones are valid.</p>;
  return (
    <div role="region" aria-label="Zone problems" aria-live="polite">
      <p class="error">{fromServer ? "The server refused these zones:" : "These zones would be refused:"}</p>
      <ul class="issues">
        {issues.map((i) => {
          const t = targetOf(i.path);
          const where = t.zone !== null ? `${zones[t.zone]?.name ?? `zone ${t.zone + 1}`}${t.vertex !== null ? `, vertex ${t.vertex + 1}` : ""}` : i.path || "config";
          return <li key={`${i.path}${i.message}`} data-path={i.path}>{where}: {i.message}</li>;
        })}
      </ul>
    </div>
  );
}

function ZoneList({ zones, selected, onSelect }: { zones: Zone[]; selected: number | null; onSelect: (z: number) => void }) {
  if (!zones.length) return <p class="muted">No zones: draw one on the canvas.</p>;
  return (
    <ul class="zones" aria-label="Zones">
      {zones.map((z, i) => (
        <li key={`${i}`}>
          <button type="button" class="link" aria-pressed={selected === i} onClick={() => onSelect(i)}>{z.name}</button>
          <span class="muted">{z.type}, {z.vertices.length} vertices</span>
        </li>
      ))}
    </ul>
  );
}

type FieldsProps = { zone: Zone; readOnly: boolean; onChange: (patch: Partial<Zone>) => void; onRemove: () => void };

function ZoneFields({ zone, readOnly, onChange, onRemove }: FieldsProps) {
  const optional = (raw: string) => (raw.trim() === "" || !Number.isFinite(Number(raw)) ? undefined : Number(raw));
  return (
    <fieldset disabled={readOnly} aria-label="Selected zone">
      <legend>Zone “{zone.name}”</legend>
      <label>Name
        <input value={zone.name} maxLength={32} onInput={(e) => onChange({ name: e.currentTarget.value })} />
      </label>
      <label>Type
        <select value={zone.type} onChange={(e) => onChange({ type: e.currentTarget.value as Zone["type"] })}>
          <option value="include">include</option>
          <option value="exclude">exclude</option>
        </select>
      </label>
      <label>Zone sensitivity (blank: default)
        <input type="number" min={1} max={10} value={zone.sensitivity ?? ""}
          onInput={(e) => onChange({ sensitivity: optional(e.currentTarget.value) })} />
      </label>
      <label>Zone hold time, s (blank: default)
        <input type="number" min={0} max={3600} value={zone.hold_time_s ?? ""}
          onInput={(e) => onChange({ hold_time_s: optional(e.currentTarget.value) })} />
      </label>
      <button type="button" class="danger" onClick={onRemove}>Delete zone</button>
    </fieldset>
  );
}

function ConflictPanel({ conflict, onResolve }: { conflict: Conflict; onResolve: (how: "merge" | "reload") => void }) {
  const list = (items: Change[]) => (items.length ? items.map((c) => `${c.kind} ${c.what}`).join("\n") : "nothing");
  const theirs = conflict.theirs;
  return (
    <section class="notice" role="alert" aria-label="Edit conflict">
      <h3>Someone else saved version {theirs.desired_version} ({theirs.updated_by ?? "unknown"}, {ago(theirs.updated_at)}) while you edited.</h3>
      <p>Their changes:</p>
      <p class="diff">{list(conflict.mine)}</p>
      <p>Your changes:</p>
      <p class="diff">{list(conflict.ours)}</p>
      <div class="row">
        <button type="button" onClick={() => onResolve("merge")}>Merge my changes onto theirs</button>
        <button type="button" class="secondary" onClick={() => onResolve("reload")}>Discard mine and reload</button>
      </div>
    </section>
  );
}

function History({ view, canEdit, onRollback }: { view: ZonesView | null; canEdit: boolean; onRollback: (v: number) => void }) {
  if (!view || !view.versions.length) return null;
  return (
    <section class="card" aria-label="Version history">
      <h2>History</h2>
      <table>
        <thead><tr><th scope="col">Version</th><th scope="col">Saved</th><th scope="col">By</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
        <tbody>
          {view.versions.map((v) => (
            <tr key={v.version}>
              <td>{v.version}{v.version === view.desired_version ? " (current)" : ""}</td>
              <td>{ago(v.updated_at)}</td>
              <td>{v.updated_by ?? "—"}</td>
              <td>{canEdit && v.version !== view.desired_version && (
                <button type="button" class="secondary" onClick={() => onRollback(v.version)}>Roll back to {v.version}</button>
              )}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

type Live = { targets: LiveTarget[]; state: LiveState; detail: string; received: number; drawn: number; skipped: number };

/** Live targets from the socket. Frames are drawn once per animation frame: a frame that a
 * newer one replaced before the screen refreshed counts as skipped (at 10 frames/s none is). */
function useLiveTargets(deviceId: string): Live {
  const { api } = useApp();
  const [live, setLive] = useState<Live>({ targets: [], state: "connecting", detail: "", received: 0, drawn: 0, skipped: 0 });
  useEffect(() => {
    let latest: TargetFrame | null = null;
    let pending = 0;
    let drawn = 0;
    let skipped = 0;
    let status: Pick<Live, "state" | "detail"> = { state: "connecting", detail: "" };
    const feed = new TargetsFeed(() => api.targetsSocket(deviceId), {
      ended: api.expired,
      frame: (frame) => {
        if (latest) skipped += 1; // replaced before it was drawn
        latest = frame;
        if (!pending) pending = requestAnimationFrame(draw);
      },
      state: (state, detail = "") => {
        status = { state, detail };
        setLive((l) => ({ ...l, ...status }));
      },
    });
    const draw = () => {
      pending = 0;
      if (!latest) return;
      const targets = latest.targets.map((t) => ({ id: t.id, x_mm: t.x_mm, y_mm: t.y_mm }));
      latest = null;
      drawn += 1;
      setLive({ targets, ...status, received: feed.received, drawn, skipped });
    };
    feed.start();
    return () => {
      cancelAnimationFrame(pending);
      feed.stop();
    };
  }, [deviceId]);
  return live;
}

function LiveStatus({ live }: { live: Live }) {
  const label = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", closed: "closed" }[live.state];
  return (
    <p class="muted" aria-label="Live targets" data-state={live.state} data-received={live.received}
      data-drawn={live.drawn} data-skipped={live.skipped}>
      Live targets: {label} {live.detail} · {live.targets.length} in view · {live.received} frames
    </p>
  );
}
