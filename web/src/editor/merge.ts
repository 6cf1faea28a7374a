// What changed between two zone configs, and a three-way merge for a save that lost the race
// (HTTP 409): the owner's edits since the version they loaded are replayed onto the version
// that won, zone by zone (zones are keyed by name). Where both sides changed the same thing,
// the owner's edit wins and the conflict is listed, so they see what they overrode.
import type { Zone, ZoneConfig } from "./types.ts";

export type Change = { kind: "added" | "removed" | "changed"; what: string };
const SETTINGS = ["sensitivity", "hold_time_s"] as const;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const byName = (config: ZoneConfig) => new Map(config.zones.map((z) => [z.name, z]));

export function changes(from: ZoneConfig, to: ZoneConfig): Change[] {
  const before = byName(from);
  const after = byName(to);
  const out: Change[] = [];
  for (const [name, zone] of after) {
    const old = before.get(name);
    if (!old) out.push({ kind: "added", what: `zone ${name}` });
    else if (!same(old, zone)) out.push({ kind: "changed", what: `zone ${name}` });
  }
  for (const name of before.keys()) {
    if (!after.has(name)) out.push({ kind: "removed", what: `zone ${name}` });
  }
  for (const field of SETTINGS) {
    if (from[field] !== to[field]) out.push({ kind: "changed", what: `${field} ${from[field]} → ${to[field]}` });
  }
  return out;
}

export type Merged = { config: ZoneConfig; conflicts: string[] };

export function merge(base: ZoneConfig, ours: ZoneConfig, theirs: ZoneConfig): Merged {
  const baseZones = byName(base);
  const ourZones = byName(ours);
  const theirZones = byName(theirs);
  const merged = new Map<string, Zone>(theirZones);
  const conflicts: string[] = [];
  const theyChanged = (name: string) => !same(baseZones.get(name), theirZones.get(name));

  for (const [name, zone] of ourZones) {
    if (same(baseZones.get(name), zone)) continue; // not ours to change
    if (theyChanged(name) && !same(theirZones.get(name), zone)) conflicts.push(`zone ${name}`);
    merged.set(name, zone);
  }
  for (const name of baseZones.keys()) {
    if (ourZones.has(name)) continue; // we removed it
    if (theyChanged(name) && theirZones.has(name)) {
      conflicts.push(`zone ${name} (you removed it; they changed it: kept)`);
    } else {
      merged.delete(name);
    }
  }
  const config: ZoneConfig = { ...theirs, zones: [...merged.values()] };
  for (const field of SETTINGS) {
    if (ours[field] === base[field]) continue;
    if (theirs[field] !== base[field] && theirs[field] !== ours[field]) conflicts.push(field);
    config[field] = ours[field];
  }
  return { config, conflicts };
}
