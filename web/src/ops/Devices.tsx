// Device search by cohort query, one device's registry record, and remote diagnostics.
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app.tsx";
import { ago, Card, describe, ErrorNote, useLoad } from "../ui.tsx";
import { hashQuery, Json, Pager, useFresh, usePoll, when, whenMs } from "./parts.tsx";
import type { DeviceRecord, DiagAnswer, RegistryDevice } from "./types.ts";

const PAGE = 100;
const DIAG_POLL_MS = 2_000;
const DIAG_WAIT_MS = 120_000; // then stop polling: the device may be offline

type Search = { query: string; rows: RegistryDevice[]; after: string | null };

export function DeviceSearch() {
  const { api } = useApp();
  const [text, setText, latestText] = useFresh(() => hashQuery().get("q") ?? "");
  const [search, setSearch] = useState<Search | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (query: string, after: string | null) => {
    setBusy(true);
    setError(null);
    try {
      const page = await api.get<{ devices: RegistryDevice[]; next_after: string | null }>("/admin/devices", {
        q: query.trim(),
        limit: PAGE,
        after,
      });
      setSearch((prev) => ({
        query,
        rows: after && prev ? [...prev.rows, ...page.devices] : page.devices,
        after: page.next_after,
      }));
    } catch (err) {
      setError(describe(err));
      if (!after) setSearch(null);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    run(text, null);
  }, []);

  return (
    <Card title="Devices">
      <form
        role="search"
        aria-label="Device search"
        onSubmit={(e) => {
          e.preventDefault();
          run(latestText.current, null);
        }}
      >
        <label for="ops-device-q">Cohort query</label>
        <div class="row">
          <input
            id="ops-device-q"
            class="mono ops-wide"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            aria-describedby="ops-device-q-hint"
            placeholder="version < 1.2.0 and tag:site = berlin and online"
          />
          <button type="submit" disabled={busy}>Search</button>
        </div>
        <small id="ops-device-q-hint" class="muted">
          e.g. <span class="mono">online and rssi &gt; -75</span>, <span class="mono">tag:ring in (canary, early)</span>,{" "}
          <span class="mono">seen &gt; 7d</span>; empty: every device.
        </small>
      </form>
      <ErrorNote error={error} />
      <p role="status" class="muted">
        {busy ? "Searching…" : search ? `${search.rows.length}${search.after ? "+" : ""} device${search.rows.length === 1 ? "" : "s"}${search.query.trim() ? ` match ${search.query.trim()}` : ""}.` : ""}
      </p>
      {search && search.rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Model</th>
              <th scope="col">Version</th>
              <th scope="col">Presence</th>
              <th scope="col">Last seen</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {search.rows.map((d) => (
              <tr key={d.device_id}>
                <td><a href={`#/ops/devices/${d.device_id}`} class="mono">{d.device_id}</a></td>
                <td>{d.model ?? "—"}</td>
                <td class="mono">{d.firmware_version ?? "—"}</td>
                <td><span class={d.online ? "dot on" : "dot off"} aria-hidden="true" />{d.online ? "online" : "offline"}</td>
                <td title={d.last_seen ?? undefined}>{ago(d.last_seen)}</td>
                <td class={d.status === "revoked" ? "error" : undefined}>{d.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager more={!!search?.after} loading={busy} onMore={() => search && run(search.query, search.after)} what="devices" />
    </Card>
  );
}

const KNOWN = ["device_id", "mac_address", "model", "firmware_version", "online", "last_seen", "status", "config_version",
  "key_generation", "created_at", "tags"];

export function DeviceAdmin({ deviceId }: { deviceId: string }) {
  const { api } = useApp();
  const device = useLoad(() => api.get<DeviceRecord>(`/admin/devices/${encodeURIComponent(deviceId)}`), [deviceId]);
  usePoll(device.reload, 15_000);
  const d = device.data;
  const extra = d ? Object.entries(d).filter(([k]) => !KNOWN.includes(k)) : [];
  return (
    <div>
      <p><a href="#/ops/devices">← Device search</a></p>
      <h2 class="ops-page-title">Device <span class="mono">{deviceId}</span></h2>
      <ErrorNote error={device.error} />
      {!d && !device.error && <p class="muted">Loading…</p>}
      {d && (
        <div class="grid">
          <Card title="Registry record">
            <dl class="ops-dl">
              <dt>Status</dt><dd class={d.status === "revoked" ? "error" : undefined}>{d.status}</dd>
              <dt>Presence</dt>
              <dd><span class={d.online ? "dot on" : "dot off"} aria-hidden="true" />{d.online ? "online" : "offline"}, last seen {ago(d.last_seen)}</dd>
              <dt>Model</dt><dd>{d.model ?? "—"}</dd>
              <dt>Firmware</dt><dd class="mono">{d.firmware_version ?? "—"}</dd>
              <dt>MAC address</dt><dd class="mono">{d.mac_address}</dd>
              <dt>Zone config version</dt><dd>{d.config_version}</dd>
              <dt>Key generation</dt><dd>{d.key_generation}</dd>
              <dt>Enrolled</dt><dd>{when(d.created_at)}</dd>
              <dt>Tags</dt>
              <dd>
                {Object.keys(d.tags ?? {}).length === 0 ? "none" : Object.entries(d.tags).map(([k, v]) => (
                  <span key={k} class="badge ops-tag">{k}={v}</span>
                ))}
              </dd>
              {extra.map(([k, v]) => (
                <Fragment key={k}>
                  <dt>{k.replace(/_/g, " ")}</dt>
                  <dd>{typeof v === "object" && v !== null ? <Json value={v} /> : String(v ?? "—")}</dd>
                </Fragment>
              ))}
            </dl>
            <p><a href={`#/ops/logs?target=${encodeURIComponent(deviceId)}`}>Audit records for this device</a></p>
          </Card>
          <Diagnostics deviceId={deviceId} />
        </div>
      )}
    </div>
  );
}

type Ask = { requestId: string; delivered: boolean; since: number; answer: DiagAnswer | null; gaveUp: boolean };

function Diagnostics({ deviceId }: { deviceId: string }) {
  const { api } = useApp();
  const [kind, setKind, latestKind] = useFresh("basic");
  const [ask, setAsk] = useState<Ask | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const polling = useRef(false);
  const base = `/admin/devices/${encodeURIComponent(deviceId)}/diag`;

  const request = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const accepted = await api.call<{ request_id: string; delivered: boolean }>("POST", base, { body: { kind: latestKind.current.trim() || "basic" } });
      setAsk({ requestId: accepted.body.request_id, delivered: accepted.body.delivered, since: Date.now(), answer: null, gaveUp: false });
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  const check = async () => {
    if (!ask || polling.current) return;
    polling.current = true;
    try {
      const answer = await api.get<DiagAnswer>(`${base}/${encodeURIComponent(ask.requestId)}`);
      setAsk((a) => a && a.requestId === ask.requestId
        ? { ...a, answer, gaveUp: answer.status !== "answered" && Date.now() - a.since > DIAG_WAIT_MS }
        : a);
      setError(null);
    } catch (err) {
      setError(describe(err));
    } finally {
      polling.current = false;
    }
  };
  const waiting = !!ask && ask.answer?.status !== "answered" && !ask.gaveUp;
  usePoll(check, DIAG_POLL_MS, waiting);

  const answered = ask?.answer?.status === "answered" ? ask.answer : null;
  return (
    <Card title="Diagnostics">
      <form aria-label="Request diagnostics" onSubmit={request}>
        <label for="ops-diag-kind">Kind</label>
        <div class="row">
          <input id="ops-diag-kind" value={kind} onInput={(e) => setKind(e.currentTarget.value)} maxLength={32} />
          <button type="submit" disabled={busy || waiting}>Request diagnostics</button>
        </div>
      </form>
      <ErrorNote error={error} />
      <p role="status">
        {ask && !answered && !ask.gaveUp && (
          <>Request <span class="mono">{ask.requestId}</span> {ask.delivered ? "delivered" : "sent (the device is not connected: it may never answer)"}; waiting for the answer…</>
        )}
        {ask && ask.gaveUp && <>No answer to <span class="mono">{ask.requestId}</span> after {DIAG_WAIT_MS / 60_000} minutes.</>}
        {answered && <>Answered at {whenMs(answered.received_at ?? null)}.</>}
      </p>
      {ask && ask.gaveUp && (
        <button type="button" class="secondary" onClick={() => setAsk({ ...ask, since: Date.now(), gaveUp: false })}>
          Keep waiting
        </button>
      )}
      {answered && (
        <>
          <h3>Result</h3>
          <Json value={answered.result} />
        </>
      )}
    </Card>
  );
}
