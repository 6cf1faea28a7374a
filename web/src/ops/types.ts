// What the admin API answers (workers/rs1/admin/models.py; schema/openapi.json).

export type Fleet = {
  devices: { registered: number; online: number; revoked: number; online_ratio: number | null };
  firmware_versions: { version: string; devices: number; online: number }[];
  active_rollouts: {
    rollout_id: string;
    model: string;
    firmware_version: string;
    status: string;
    current_stage: number;
    target_percent: number | null;
  }[];
  open_alerts: number;
  security_events: Record<string, number>;
  telemetry_rows: number;
};

export type Alert = {
  alert_id: string;
  kind: string;
  subject: string | null;
  status: "open" | "resolved";
  message: string | null;
  value?: number | null;
  threshold?: number | null;
  opened_at?: string | null;
  updated_at?: string | null;
  resolved_at?: string | null;
};

export type FirmwareRow = {
  model: string;
  version: string;
  size: number;
  sha256: string;
  min_version: string | null;
  created_at: string;
};

export type Stage = { percent: number; min_devices: number; soak_minutes: number };

export type Policy = {
  rate?: { max_per_minute: number; ramp?: { base_per_minute: number; factor: number; after_successes: number } | null } | null;
  jitter_s?: number;
  window?: { start: string; end: string } | null;
  install?: "immediate" | "window";
  start_at?: string | null;
  health?: { soak_minutes: number; max_reboots: number; silence_minutes: number; radar_errors: boolean };
  rollback?: boolean;
  on_inconclusive?: "extend" | "hold";
};

export type Rollout = {
  rollout_id: string;
  model: string;
  firmware_version: string;
  status: string; // active | paused | completed | aborted
  status_reason: string | null;
  stages: Stage[];
  current_stage: number;
  target_percent: number | null;
  counts: Record<string, number>;
  failures: number;
  finished: number;
  failure_rate: number | null;
  failure_rate_ci95: [number, number];
  failure_threshold: number;
  timeout_minutes: number;
  created_at: string;
  cohort: { query: string | null; percent: number; dynamic: boolean; joined_after_start: number };
  policy: Policy;
  scheduled: boolean;
  rate: { per_minute_now: number; consecutive_successes: number } | null;
  soak_failures: Record<string, number>;
  waiting_online: number;
  security_version: number;
  rollback: { version: string | null; rollout_id: string | null; of: string | null };
};

export type RolloutDevice = {
  device_id: string;
  status: string;
  stage: number | null;
  from_version: string | null;
  error_message: string | null;
  triggered_at: number | null;
  trigger_count: number;
  joined_late: boolean;
  soak: "soaking" | "passed" | "failed" | null;
  soak_error: string | null;
  rolled_back: boolean;
};

export type RegistryDevice = {
  device_id: string;
  mac_address: string;
  model: string | null;
  firmware_version: string | null;
  online: boolean;
  last_seen: string | null;
  status: "active" | "revoked";
  config_version: number;
  [extra: string]: unknown;
};

export type DeviceRecord = RegistryDevice & {
  key_generation: number;
  created_at: string;
  tags: Record<string, string>;
};

export type DiagAnswer = {
  request_id: string;
  status: "pending" | "answered";
  received_at?: number | null;
  result?: unknown;
};

export type AuditRecord = {
  seq: number;
  audit_id: string;
  at: string;
  actor: { type: string; id: string };
  action: string;
  target: { type: string; id: string };
  request_id: string;
  client_ip: string;
  summary: Record<string, unknown>;
};

export type SecurityEvent = {
  id: number;
  event_type: string;
  details: unknown;
  ip: string | null;
  timestamp: string;
};

export const LIVE = ["active", "paused"];
