// Fleet overview: devices and presence, firmware versions, live rollouts, alerts.
import { useState } from "preact/hooks";
import { useApp } from "../app.tsx";
import { Card, ErrorNote, useLoad } from "../ui.tsx";
import { pct, usePoll, when } from "./parts.tsx";
import type { Alert, Fleet } from "./types.ts";

export function Overview() {
  const { api } = useApp();
  const fleet = useLoad(() => api.get<Fleet>("/admin/fleet"));
  usePoll(fleet.reload, 15_000);
  const f = fleet.data;
  return (
    <div>
      <ErrorNote error={fleet.error} />
      {!f && !fleet.error && <p class="muted">Loading the fleet…</p>}
      {f && (
        <div class="grid">
          <div>
            <Presence fleet={f} />
            <Versions fleet={f} />
          </div>
          <div>
            <LiveRollouts fleet={f} />
            <Security fleet={f} />
          </div>
        </div>
      )}
      <Alerts />
    </div>
  );
}

function Presence({ fleet }: { fleet: Fleet }) {
  const d = fleet.devices;
  const active = d.registered - d.revoked;
  return (
    <Card title="Devices">
      <dl class="ops-stats">
        <div><dt>Registered</dt><dd>{d.registered}</dd></div>
        <div><dt>Active</dt><dd>{active}</dd></div>
        <div><dt>Online</dt><dd>{d.online}</dd></div>
        <div><dt>Revoked</dt><dd>{d.revoked}</dd></div>
        <div><dt>Open alerts</dt><dd>{fleet.open_alerts}</dd></div>
        <div><dt>Telemetry rows</dt><dd>{fleet.telemetry_rows}</dd></div>
      </dl>
      <p>
        <strong>{pct(d.online_ratio)}</strong> of active devices online
        {d.online_ratio === null ? " (no active devices)" : ` (${d.online} of ${active})`}
      </p>
      <div class="ops-meter" aria-hidden="true">
        <span style={{ width: pct(d.online_ratio ?? 0, 2) }} />
      </div>
    </Card>
  );
}

function Versions({ fleet }: { fleet: Fleet }) {
  const versions = fleet.firmware_versions;
  const total = versions.reduce((sum, v) => sum + v.devices, 0);
  return (
    <Card title="Firmware versions">
      {!versions.length && <p class="muted">No active devices.</p>}
      {versions.length > 0 && (
        <table>
          <caption class="ops-sr">Active devices per firmware version</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Devices</th>
              <th scope="col">Online</th>
              <th scope="col">Share</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <td class="mono">{v.version}</td>
                <td>{v.devices}</td>
                <td>{v.online}</td>
                <td>
                  <span class="ops-share">
                    <span class="ops-meter" aria-hidden="true">
                      <span style={{ width: pct(total ? v.devices / total : 0, 2) }} />
                    </span>
                    {pct(total ? v.devices / total : 0)}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function LiveRollouts({ fleet }: { fleet: Fleet }) {
  const live = fleet.active_rollouts;
  return (
    <Card title="Live rollouts">
      {!live.length && <p class="muted">No rollout is running.</p>}
      {live.length > 0 && (
        <ul class="ops-list">
          {live.map((r) => (
            <li key={r.rollout_id}>
              <a href={`#/ops/rollouts/${r.rollout_id}`} class="mono">{r.rollout_id}</a>{" "}
              {r.model} → {r.firmware_version}: <span class="badge">{r.status}</span> stage {r.current_stage + 1}
            </li>
          ))}
        </ul>
      )}
      <p><a href="#/ops/rollouts">All rollouts</a></p>
    </Card>
  );
}

function Security({ fleet }: { fleet: Fleet }) {
  const kinds = Object.entries(fleet.security_events);
  return (
    <Card title="Security events">
      {!kinds.length && <p class="muted">None recorded.</p>}
      {kinds.length > 0 && (
        <ul class="ops-list">
          {kinds.map(([type, n]) => (
            <li key={type}>
              <a href={`#/ops/logs/security?type=${encodeURIComponent(type)}`}>{type}</a>: {n}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function Alerts() {
  const { api } = useApp();
  const [status, setStatus] = useState("open");
  const alerts = useLoad(() => api.get<{ alerts: Alert[] }>("/admin/alerts", { status }), [status]);
  usePoll(alerts.reload, 15_000);
  const rows = alerts.data?.alerts ?? [];
  return (
    <Card title="Alerts">
      <label for="ops-alert-status">Show alerts</label>
      <select id="ops-alert-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
        <option value="open">Open</option>
        <option value="resolved">Resolved</option>
        <option value="all">All</option>
      </select>
      <ErrorNote error={alerts.error} />
      {alerts.data && !rows.length && <p class="muted">No {status === "all" ? "" : `${status} `}alerts.</p>}
      {rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Alert</th>
              <th scope="col">Status</th>
              <th scope="col">Message</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.alert_id}>
                <td>
                  <span class="mono">{a.kind}</span>
                  {a.subject && <> · {subjectLink(a)}</>}
                </td>
                <td class={a.status === "open" ? "warn" : "ok"}>{a.status}</td>
                <td>{a.message ?? ""}</td>
                <td>{when(a.updated_at ?? a.opened_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function subjectLink(a: Alert) {
  const subject = a.subject ?? "";
  if (/^r-[0-9a-f]+$/.test(subject)) return <a href={`#/ops/rollouts/${subject}`} class="mono">{subject}</a>;
  if (/^[0-9a-f]{32}$/.test(subject)) return <a href={`#/ops/devices/${subject}`} class="mono">{subject.slice(0, 12)}…</a>;
  return <span class="mono">{subject}</span>;
}
