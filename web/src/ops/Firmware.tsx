// Uploaded firmware (uploads go through rs1ctl: they need the release-signing key).
import { useApp } from "../app.tsx";
import { Card, ErrorNote, useLoad } from "../ui.tsx";
import { bytes, when } from "./parts.tsx";
import type { FirmwareRow } from "./types.ts";

export function FirmwareList() {
  const { api } = useApp();
  const list = useLoad(() => api.get<{ firmware: FirmwareRow[] }>("/admin/firmware"));
  const rows = list.data?.firmware ?? [];
  return (
    <Card title="Firmware">
      <ErrorNote error={list.error} />
      {list.data && !rows.length && <p class="muted">No firmware uploaded yet (upload with rs1ctl).</p>}
      {rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Version</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
              <th scope="col">Min. version</th>
              <th scope="col">Uploaded</th>
              <th scope="col">Roll out</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((f) => (
              <tr key={`${f.model}/${f.version}`}>
                <td>{f.model}</td>
                <td class="mono">{f.version}</td>
                <td>{bytes(f.size)}</td>
                <td class="mono" title={f.sha256}>{f.sha256.slice(0, 16)}…</td>
                <td class="mono">{f.min_version ?? "—"}</td>
                <td>{when(f.created_at)}</td>
                <td>
                  <a href={`#/ops/rollouts?model=${encodeURIComponent(f.model)}&version=${encodeURIComponent(f.version)}`}>
                    Roll out {f.model} {f.version}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
