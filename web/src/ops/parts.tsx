// Small pieces the ops tabs share: polling, formatting, JSON, a "load more" pager.
import { useEffect, useRef, useState } from "preact/hooks";

/** Calls the latest `fn` every `ms` while `enabled` (unlike useInterval, `fn` may change). */
export function usePoll(fn: () => void, ms: number, enabled = true): void {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!enabled) return;
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms, enabled]);
}

/** State whose latest value a handler can read at once (a submit right after typing, before
 * the re-render that would give the handler the new value). */
export function useFresh<T>(initial: T | (() => T)): [T, (value: T) => void, { current: T }] {
  const [value, setValue] = useState<T>(initial);
  const ref = useRef<T>(value);
  const set = (next: T) => {
    ref.current = next;
    setValue(next);
  };
  return [value, set, ref];
}

export function pct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  return `${(x * 100).toFixed(digits)}%`;
}

/** An ISO time as "2026-11-18 12:00:00Z" (seconds). */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function whenMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "—" : when(new Date(ms).toISOString());
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function Json({ value }: { value: unknown }) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return <pre class="ops-json">{text}</pre>;
}

/** A compact one-line JSON for table cells. */
export function brief(value: unknown, max = 160): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The query string of the hash route (#/ops/rollouts?model=RS-1). */
export function hashQuery(): URLSearchParams {
  const hash = location.hash;
  const at = hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
}

export function Pager({ more, loading, onMore, what }: {
  more: boolean;
  loading: boolean;
  onMore: () => void;
  what: string;
}) {
  if (!more) return null;
  return (
    <p>
      <button type="button" class="secondary" disabled={loading} onClick={onMore}>
        {loading ? "Loading…" : `Load more ${what}`}
      </button>
    </p>
  );
}
