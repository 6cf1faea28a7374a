// The New rollout form's fields and the POST /admin/rollouts body built from them
// (workers/rs1/admin/rollouts.py RolloutBody; the policy is rs1.ota.policy.Policy).

export type Form = {
  model: string;
  version: string;
  stages: string;
  minDevices: string;
  cohort: string;
  threshold: string;
  timeout: string;
  allowDowngrade: boolean;
  soak: string;
  maxReboots: string;
  silence: string;
  radarErrors: boolean;
  onInconclusive: string;
  rollback: boolean;
  maxPerMinute: string;
  rampBase: string;
  rampFactor: string;
  rampAfter: string;
  jitter: string;
  windowStart: string;
  windowEnd: string;
  install: string;
  startAt: string;
};

/** The form as it opens: the server's defaults, three stages, a 2% threshold. */
export function defaultForm(model = "RS-1", version = ""): Form {
  return {
    model,
    version,
    stages: "10,50,100",
    minDevices: "",
    cohort: "",
    threshold: "2",
    timeout: "60",
    allowDowngrade: false,
    soak: "15",
    maxReboots: "1",
    silence: "5",
    radarErrors: true,
    onInconclusive: "extend",
    rollback: false,
    maxPerMinute: "",
    rampBase: "",
    rampFactor: "",
    rampAfter: "",
    jitter: "0",
    windowStart: "",
    windowEnd: "",
    install: "immediate",
    startAt: "",
  };
}

/** A number field's value, or undefined when it is empty (the server's default applies). */
function num(text: string): number | undefined {
  return text.trim() === "" ? undefined : Number(text);
}

function defined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** The request body, or a message for what cannot even be sent. */
export function rolloutBody(f: Form): { body: Record<string, unknown> } | { problem: string } {
  const words = f.stages.split(/[\s,;]+/).filter(Boolean);
  const percents = words.map(Number);
  const bad = words.find((_, i) => !Number.isFinite(percents[i]));
  if (bad !== undefined) return { problem: `Stages (%): "${bad}" is not a number.` };
  const minDevices = num(f.minDevices);
  const threshold = num(f.threshold);
  const base = num(f.rampBase);
  const max = num(f.maxPerMinute);
  let startAt: string | undefined;
  if (f.startAt) {
    const t = new Date(f.startAt); // datetime-local: the browser's time zone
    if (Number.isNaN(t.getTime())) return { problem: `Start at: "${f.startAt}" is not a time.` };
    startAt = t.toISOString();
  }
  const ramp =
    base === undefined ? undefined : defined({ base_per_minute: base, factor: num(f.rampFactor), after_successes: num(f.rampAfter) });
  const policy = defined({
    rate: max === undefined && ramp === undefined ? undefined : defined({ max_per_minute: max, ramp }),
    jitter_s: num(f.jitter),
    window: f.windowStart || f.windowEnd ? { start: f.windowStart, end: f.windowEnd } : undefined,
    install: f.install,
    start_at: startAt,
    health: defined({
      soak_minutes: num(f.soak),
      max_reboots: num(f.maxReboots),
      silence_minutes: num(f.silence),
      radar_errors: f.radarErrors,
    }),
    rollback: f.rollback,
    on_inconclusive: f.onInconclusive,
  });
  const body = defined({
    model: f.model.trim(),
    firmware_version: f.version.trim(),
    stages: percents.length
      ? percents.map((percent) => defined({ percent, min_devices: minDevices }))
      : undefined,
    cohort: f.cohort.trim() || undefined,
    failure_threshold: threshold === undefined ? undefined : threshold / 100,
    timeout_minutes: num(f.timeout),
    allow_downgrade: f.allowDowngrade,
    policy,
  });
  return { body };
}
