// A device: what it runs and whether it is there, its zones (the editor, live targets,
// desired vs applied, history), sharing and telemetry.
import { useApp } from "../app.tsx";
import type { DeviceSummary } from "./Devices.tsx";
import { ago, Card, ErrorNote, useInterval, useLoad } from "../ui.tsx";
import { Sharing } from "./Sharing.tsx";
import { Telemetry } from "./Telemetry.tsx";
import { Zones } from "./Zones.tsx";

export type DeviceDetail = Omit<DeviceSummary, "role"> & {
  pending_config_version: number | null;
  role: "owner" | "viewer" | "admin";
  ota: { rollout_id: string; firmware_version: string; status: string; progress: number | null }[];
};

export function DevicePage({ deviceId }: { deviceId: string }) {
  const { api } = useApp();
  const device = useLoad(() => api.get<DeviceDetail>(`/api/devices/${deviceId}`), [deviceId]);
  useInterval(device.reload, 10_000);
  const d = device.data;
  return (
    <div>
      <p><a href="#/devices">← Devices</a></p>
      <ErrorNote error={device.error} />
      {d && (
        <section class="card" aria-label="Device">
          <h1 class="mono">{d.device_id}</h1>
          <p class="row">
            <span><span class={d.online ? "dot on" : "dot off"} aria-hidden="true" />{d.online ? "Online" : "Offline"}</span>
            <span>· {d.model ?? "unknown model"}</span>
            <span>· firmware {d.firmware_version ?? "—"}</span>
            <span>· last seen {ago(d.last_seen)}</span>
            <span class="badge">{d.role}</span>
          </p>
          {d.ota.map((o) => (
            <p key={o.rollout_id} class="muted">Update to {o.firmware_version}: {o.status}{o.progress !== null ? ` (${o.progress}%)` : ""}</p>
          ))}
        </section>
      )}
      {d && <Zones deviceId={deviceId} canEdit={d.role !== "viewer"} />}
      <div class="grid">
        <Card title="Telemetry (hourly)"><Telemetry deviceId={deviceId} /></Card>
        {d?.role !== "viewer" && <Card title="Sharing"><Sharing deviceId={deviceId} /></Card>}
      </div>
    </div>
  );
}
