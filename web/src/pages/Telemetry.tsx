// Hourly rollups of the last 48 hours as a uPlot chart: messages per hour and the most
// targets seen at once.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useApp } from "../app.tsx";
import { ErrorNote, useLoad } from "../ui.tsx";

type Hour = { hour_start: number; message_count: number; max_target_count: number | null };

export function Telemetry({ deviceId }: { deviceId: string }) {
  const { api } = useApp();
  const box = useRef<HTMLDivElement>(null);
  const now = Date.now();
  const hours = useLoad(
    () => api.get<{ items: Hour[] }>(`/api/devices/${deviceId}/telemetry`, {
      resolution: "hour", from: now - 48 * 3_600_000, to: now, limit: 1000,
    }),
    [deviceId],
  );
  const items = hours.data?.items ?? [];
  useEffect(() => {
    if (!box.current || !items.length) return;
    const data: uPlot.AlignedData = [
      items.map((h) => h.hour_start / 1000),
      items.map((h) => h.message_count),
      items.map((h) => h.max_target_count ?? 0),
    ];
    const plot = new uPlot({
      width: box.current.clientWidth || 400,
      height: 200,
      series: [{}, { label: "messages", stroke: "#0b5cad" }, { label: "max targets", stroke: "#1a7f37", scale: "t" }],
      axes: [{}, { label: "messages" }, { side: 1, scale: "t", label: "targets" }],
    }, data, box.current);
    return () => plot.destroy();
  }, [items]);
  return (
    <div>
      <ErrorNote error={hours.error} />
      {hours.data && !items.length && <p class="muted">No telemetry in the last 48 hours.</p>}
      <div ref={box} role="img" aria-label={`Messages and targets per hour, ${items.length} hours`} />
    </div>
  );
}
