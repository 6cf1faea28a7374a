// The rollout safety statistics of workers/rs1/ota/safety.py, ported as they are: the Wilson
// score interval on the failure rate (z = 1.96, the server's exact Z95, so the console draws
// the interval the server decides on), and the abort/advance rules built on it.

export const Z95 = 1.959963984540054;
export const MIN_FAILURES = 2;

export type Interval = { low: number; high: number };

export function wilson(failures: number, n: number, z: number = Z95): Interval {
  if (n <= 0) return { low: 0, high: 1 };
  const p = failures / n;
  const z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const margin = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  const low = failures === 0 ? 0 : Math.max(0, center - margin);
  const high = failures === n ? 1 : Math.min(1, center + margin);
  return { low: Math.min(low, p), high: Math.max(high, p) };
}

/** Abort: at least MIN_FAILURES and the 95% lower bound above the threshold. */
export function shouldAbort(failures: number, finished: number, threshold: number): boolean {
  return failures >= MIN_FAILURES && wilson(failures, finished).low > threshold;
}

/** Advance: the 95% upper bound below the threshold. */
export function mayAdvance(failures: number, finished: number, threshold: number): boolean {
  return finished > 0 && wilson(failures, finished).high < threshold;
}

export type Verdict = "no data" | "above threshold" | "below threshold" | "inconclusive";

export function verdict(failures: number, finished: number, threshold: number): Verdict {
  if (finished <= 0) return "no data";
  if (shouldAbort(failures, finished, threshold)) return "above threshold";
  if (mayAdvance(failures, finished, threshold)) return "below threshold";
  return "inconclusive";
}
