// The live stage view: the Wilson 95% interval of the failure rate drawn against the
// rollout's threshold, with the same facts as text (the SVG is labelled by it).
import { pct } from "./parts.tsx";
import { type Verdict, verdict, wilson } from "./wilson.ts";

const W = 400;
const PAD = 12;
const NICE = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1];

/** The axis' end: a few thresholds wide (so 2% is not a hairline), more if the rate is high. */
export function axisEnd(threshold: number, rate: number | null): number {
  const want = Math.min(1, Math.max(threshold * 5, (rate ?? 0) * 2));
  return NICE.find((n) => n >= want - 1e-12) ?? 1;
}

/** 0.02 → "2%", 0.025 → "2.5%". */
function short(x: number): string {
  return `${Number((x * 100).toFixed(2))}%`;
}

export function intervalText(failures: number, finished: number, threshold: number): string {
  const iv = wilson(failures, finished);
  const v = verdict(failures, finished, threshold);
  if (finished <= 0) {
    return `No finished devices yet: the failure rate is unknown (threshold ${pct(threshold)}).`;
  }
  return (
    `Failure rate ${pct(failures / finished)} (${failures} of ${finished} finished), ` +
    `95% interval ${pct(iv.low)} to ${pct(iv.high)}, threshold ${pct(threshold)}: ${explain(v)}.`
  );
}

function explain(v: Verdict): string {
  switch (v) {
    case "above threshold":
      return "above the threshold (the lower bound exceeds it)";
    case "below threshold":
      return "below the threshold (the upper bound is under it)";
    case "inconclusive":
      return "inconclusive (the interval straddles the threshold)";
    default:
      return "no data";
  }
}

export function StageBar({ id, failures, finished, threshold, compact = false }: {
  id: string;
  failures: number;
  finished: number;
  threshold: number;
  compact?: boolean;
}) {
  const iv = wilson(failures, finished);
  const rate = finished > 0 ? failures / finished : null;
  const end = axisEnd(threshold, rate);
  const x = (v: number) => PAD + (Math.min(Math.max(v, 0), end) / end) * (W - 2 * PAD);
  const v = verdict(failures, finished, threshold);
  const tone = v === "above threshold" ? "bad" : v === "below threshold" ? "good" : v === "inconclusive" ? "unsure" : "none";
  const h = compact ? 26 : 48;
  const barY = compact ? 6 : 10;
  const barH = compact ? 12 : 16;
  const textId = `${id}-text`;
  const crowded = threshold / end < 0.2;
  return (
    <figure class={compact ? "ops-stagebar compact" : "ops-stagebar"}>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-labelledby={textId}>
        <rect class="track" x={x(0)} y={barY} width={x(end) - x(0)} height={barH} />
        {finished > 0 && (
          <rect class={`interval ${tone}`} x={x(iv.low)} y={barY} width={Math.max(2, x(iv.high) - x(iv.low))} height={barH} />
        )}
        {finished > 0 && iv.high > end && (
          <path class={`interval ${tone}`} d={`M${W - PAD} ${barY - 3} L${W - 1} ${barY + barH / 2} L${W - PAD} ${barY + barH + 3} Z`} />
        )}
        {rate !== null && <line class="estimate" x1={x(rate)} x2={x(rate)} y1={barY - 2} y2={barY + barH + 2} />}
        <line class="threshold" x1={x(threshold)} x2={x(threshold)} y1={1} y2={barY + barH + 4} />
        {!compact && (
          <>
            {crowded ? null : <text x={x(0)} y={h - 4} class="tick">0%</text>}
            <text x={crowded ? x(threshold) + 3 : x(threshold)} y={h - 4} class="tick threshold-label"
              text-anchor={crowded ? "start" : "middle"}>{short(threshold)} threshold</text>
            <text x={x(end)} y={h - 4} class="tick" text-anchor="end">{short(end)}</text>
          </>
        )}
      </svg>
      <figcaption id={textId} class={compact ? "ops-sr" : ""}>{intervalText(failures, finished, threshold)}</figcaption>
    </figure>
  );
}
