// The owner's devices: presence, version, last seen; refreshed every 10 s.
import { useApp } from "../app.tsx";
import { ago, Card, ErrorNote, useInterval, useLoad } from "../ui.tsx";

export type DeviceSummary = {
  device_id: string;
  model: string | null;
  firmware_version: string | null;
  online: boolean;
  last_seen: string | null;
  config_version: number;
  role: "owner" | "viewer";
};

export function DevicesPage() {
  const { api } = useApp();
  const list = useLoad(() => api.get<{ devices: DeviceSummary[] }>("/api/devices", { limit: 100 }));
  useInterval(list.reload, 10_000);
  const devices = list.data?.devices ?? [];
  return (
    <Card title="Your devices">
      <ErrorNote error={list.error} />
      {list.data && !devices.length && <p class="muted">No devices yet: claim one with its claim code.</p>}
      <table>
        <thead>
          <tr><th scope="col">Device</th><th scope="col">Presence</th><th scope="col">Version</th><th scope="col">Last seen</th><th scope="col">Role</th></tr>
        </thead>
        <tbody>
          {devices.map((d) => (
            <tr key={d.device_id}>
              <td><a href={`#/devices/${d.device_id}`} class="mono">{d.device_id.slice(0, 12)}…</a> {d.model}</td>
              <td><span class={d.online ? "dot on" : "dot off"} aria-hidden="true" />{d.online ? "online" : "offline"}</td>
              <td>{d.firmware_version ?? "—"}</td>
              <td>{ago(d.last_seen)}</td>
              <td>{d.role}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
