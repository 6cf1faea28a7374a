// The audit trail (GET /admin/audit) and the security log (GET /admin/security-log): filters,
// newest first, "load more" with the API's next_cursor.
import { useEffect, useState } from "preact/hooks";
import { useApp } from "../app.tsx";
import { Card, describe, ErrorNote } from "../ui.tsx";
import { brief, hashQuery, Pager, useFresh, when } from "./parts.tsx";
import type { AuditRecord, SecurityEvent } from "./types.ts";

const PAGE = 100;
const SECURITY_TYPES = [
  "admin_api_access",
  "api_key_used",
  "auth_failure_repeated",
  "acl_violation",
  "rate_limit_exceeded",
  "webhook_secret_invalid",
];

export function Logs({ view }: { view: "audit" | "security" }) {
  return (
    <div>
      <nav class="tabs ops-subtabs" aria-label="Logs">
        <a href="#/ops/logs" aria-current={view === "audit" ? "page" : undefined}>Audit trail</a>
        <a href="#/ops/logs/security" aria-current={view === "security" ? "page" : undefined}>Security log</a>
      </nav>
      {view === "audit" ? <AuditLog /> : <SecurityLog />}
    </div>
  );
}

type Paged<T> = { rows: T[]; cursor: string | null; busy: boolean; error: string | null; loaded: boolean };

/** Pages of a cursor-paged list: `load(filters)` starts over, `more()` appends the next page. */
function usePaged<T, F>(fetch: (filters: F, cursor: string | null) => Promise<{ rows: T[]; next: string | null }>, first: F) {
  const [filters, setFilters] = useState<F>(first);
  const [state, setState] = useState<Paged<T>>({ rows: [], cursor: null, busy: false, error: null, loaded: false });
  const go = async (f: F, cursor: string | null) => {
    setState((s) => ({ ...s, busy: true, error: null }));
    try {
      const page = await fetch(f, cursor);
      setState((s) => ({
        rows: cursor ? [...s.rows, ...page.rows] : page.rows,
        cursor: page.next,
        busy: false,
        error: null,
        loaded: true,
      }));
    } catch (err) {
      setState((s) => ({ ...s, busy: false, error: describe(err), ...(cursor ? {} : { rows: [], cursor: null }) }));
    }
  };
  useEffect(() => {
    go(first, null);
  }, []);
  return {
    ...state,
    load: (f: F) => {
      setFilters(f);
      go(f, null);
    },
    more: () => state.cursor && go(filters, state.cursor),
  };
}

type AuditFilters = { actor: string; target: string; action: string };

function AuditLog() {
  const { api } = useApp();
  const q = hashQuery();
  const start: AuditFilters = { actor: q.get("actor") ?? "", target: q.get("target") ?? "", action: q.get("action") ?? "" };
  const [form, setForm, latest] = useFresh(start);
  const list = usePaged<AuditRecord, AuditFilters>(async (f, cursor) => {
    const page = await api.get<{ records: AuditRecord[]; next_cursor: string | null }>("/admin/audit", {
      actor: f.actor.trim(),
      target: f.target.trim(),
      action: f.action.trim(),
      limit: PAGE,
      cursor,
    });
    return { rows: page.records, next: page.next_cursor };
  }, start);
  const field = (key: keyof AuditFilters, label: string, hint: string) => (
    <div class="ops-field">
      <label for={`ops-audit-${key}`}>{label}</label>
      <input
        id={`ops-audit-${key}`}
        class="mono"
        value={form[key]}
        placeholder={hint}
        onInput={(e) => setForm({ ...latest.current, [key]: e.currentTarget.value })}
      />
    </div>
  );
  return (
    <Card title="Audit trail">
      <form
        aria-label="Audit filters"
        class="ops-filters"
        onSubmit={(e) => {
          e.preventDefault();
          list.load(latest.current);
        }}
      >
        {field("actor", "Actor", "user sub or API key id")}
        {field("target", "Target", "device id, rollout id…")}
        {field("action", "Action", "zones.write")}
        <button type="submit" disabled={list.busy}>Filter</button>
      </form>
      <ErrorNote error={list.error} />
      <p role="status" class="muted">
        {list.busy && !list.rows.length ? "Loading…" : list.loaded ? `${list.rows.length}${list.cursor ? "+" : ""} records.` : ""}
      </p>
      {list.rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Client IP</th>
              <th scope="col">Summary</th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((r) => (
              <tr key={r.seq}>
                <td>{r.seq}</td>
                <td>{when(r.at)}</td>
                <td>{r.actor.type} <span class="mono">{r.actor.id}</span></td>
                <td class="mono">{r.action}</td>
                <td>{r.target.type} {targetLink(r.target)}</td>
                <td class="mono">{r.client_ip}</td>
                <td class="mono ops-brief" title={brief(r.summary, 4000)}>{brief(r.summary)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager more={!!list.cursor} loading={list.busy} onMore={list.more} what="records" />
    </Card>
  );
}

function targetLink(t: { type: string; id: string }) {
  if (t.type === "device" && /^[0-9a-f]{32}$/.test(t.id)) return <a href={`#/ops/devices/${t.id}`} class="mono">{t.id}</a>;
  if (t.type === "rollout") return <a href={`#/ops/rollouts/${encodeURIComponent(t.id)}`} class="mono">{t.id}</a>;
  return <span class="mono">{t.id}</span>;
}

function SecurityLog() {
  const { api } = useApp();
  const start = hashQuery().get("type") ?? "";
  const [type, setType, latestType] = useFresh(start);
  const list = usePaged<SecurityEvent, string>(async (t, cursor) => {
    const page = await api.get<{ events: SecurityEvent[]; next_cursor: string | null }>("/admin/security-log", {
      type: t.trim(),
      limit: PAGE,
      cursor,
    });
    return { rows: page.events, next: page.next_cursor };
  }, start);
  return (
    <Card title="Security log">
      <form
        aria-label="Security log filter"
        class="ops-filters"
        onSubmit={(e) => {
          e.preventDefault();
          list.load(latestType.current);
        }}
      >
        <div class="ops-field">
          <label for="ops-security-type">Event type</label>
          <input
            id="ops-security-type"
            class="mono"
            list="ops-security-types"
            value={type}
            placeholder="any"
            onInput={(e) => setType(e.currentTarget.value)}
          />
          <datalist id="ops-security-types">
            {SECURITY_TYPES.map((t) => <option key={t} value={t} />)}
          </datalist>
        </div>
        <button type="submit" disabled={list.busy}>Filter</button>
      </form>
      <ErrorNote error={list.error} />
      <p role="status" class="muted">
        {list.busy && !list.rows.length ? "Loading…" : list.loaded ? `${list.rows.length}${list.cursor ? "+" : ""} events.` : ""}
      </p>
      {list.rows.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">Type</th>
              <th scope="col">IP</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map((e) => (
              <tr key={e.id}>
                <td>{e.id}</td>
                <td>{when(e.timestamp)}</td>
                <td class="mono">{e.event_type}</td>
                <td class="mono">{e.ip ?? "—"}</td>
                <td class="mono ops-brief" title={brief(e.details, 4000)}>{brief(e.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager more={!!list.cursor} loading={list.busy} onMore={list.more} what="events" />
    </Card>
  );
}
