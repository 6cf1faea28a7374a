// The zone configuration as the device API takes it (schema/api/zone-config.schema.json).
export type Point = [number, number]; // millimetres: x sideways, y ahead of the sensor

export type Zone = {
  name: string;
  type: "include" | "exclude";
  vertices: Point[];
  sensitivity?: number; // absent: the config's
  hold_time_s?: number;
};

export type ZoneConfig = { zones: Zone[]; sensitivity: number; hold_time_s: number };

export const EMPTY_CONFIG: ZoneConfig = { zones: [], sensitivity: 5, hold_time_s: 30 };

/** Where an issue points: a zone, and maybe one of its vertices or a field. */
export type Target = { zone: number | null; vertex: number | null; field: string | null };

export function targetOf(path: string): Target {
  const parts = path.split(".");
  if (parts[0] !== "zones" || parts.length < 2 || !/^\d+$/.test(parts[1])) {
    return { zone: null, vertex: null, field: parts[0] || null };
  }
  const zone = Number(parts[1]);
  const vertex = parts[2] === "vertices" && /^\d+$/.test(parts[3] ?? "") ? Number(parts[3]) : null;
  return { zone, vertex, field: parts[2] ?? null };
}
