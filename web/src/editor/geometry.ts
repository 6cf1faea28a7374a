// Zone geometry: the rules the device API enforces (workers/rs1/zones/model.py), in the same
// order, with the same integer arithmetic and the same messages, so the editor flags exactly
// what the server would refuse, at the same paths (rs1/validation.py: a geometry error names
// its vertex, `zones.<z>.vertices.<i>`; a repeated name its zone, `zones.<j>.name`).
// tests/vectors/zones.json (generated from the Python model) and a randomised comparison
// (tests/unit/zones/test_shared_vectors.py) keep the two in step.
//
// Coordinates are millimetres: x sideways (negative left), y ahead of the sensor. The rules
// apply to integer vertices; the cross products below stay exact for |coordinates| < 2**25,
// and validateConfig only computes them once every vertex passed the field-of-view test.
//
// Shape errors (wrong types, missing or unknown keys) are the JSON Schema's job
// (schema/api/zone-config.schema.json, see validate.ts): validateConfig skips what it cannot
// read rather than guessing, so its issues are the Python model's for a schema-valid config.

export type Point = readonly [number, number];
export type Issue = { path: string; message: string };
export type Zone = {
  name: string;
  type?: string;
  vertices: readonly Point[];
  sensitivity?: number | null; // absent or null: the config's
  hold_time_s?: number | null;
};
export type ZoneConfig = { zones: readonly Zone[]; sensitivity?: number; hold_time_s?: number };
/** A polygon's first broken rule; `vertex` is the vertex it names (null: the whole polygon). */
export type GeometryIssue = { vertex: number | null; message: string };

export const MAX_RANGE_MM = 6000;
/** Python's math.tan(math.radians(60)) written out, so both sides compare with the same double. */
export const TAN_60 = 1.7320508075688767;
export const MIN_VERTICES = 3;
export const MAX_VERTICES = 12;
export const MAX_ZONES = 16;
export const MAX_NAME_CHARS = 32;
export const ZONE_TYPES = ["include", "exclude"] as const;
export const SENSITIVITY = { min: 1, max: 10, default: 5 } as const;
export const HOLD_TIME_S = { min: 0, max: 3600, default: 30 } as const;

/** y 0..6000, |x| <= 6000 and within ±60° of boresight (model.in_field_of_view). */
export function inFieldOfView(x: number, y: number): boolean {
  return (
    y >= 0 && y <= MAX_RANGE_MM && Math.abs(x) <= MAX_RANGE_MM && Math.abs(x) <= y * TAN_60 + 1e-9
  );
}

function cross(o: Point, a: Point, b: Point): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** c lies on the closed segment a–b. */
function onSegment(a: Point, b: Point, c: Point): boolean {
  return (
    cross(a, b, c) === 0 &&
    Math.min(a[0], b[0]) <= c[0] && c[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= c[1] && c[1] <= Math.max(a[1], b[1])
  );
}

/** Proper or touching intersection of two closed segments (model._segments_cross). */
function segmentsCross(p1: Point, p2: Point, q1: Point, q2: Point): boolean {
  const d1 = cross(q1, q2, p1);
  const d2 = cross(q1, q2, p2);
  const d3 = cross(p1, p2, q1);
  const d4 = cross(p1, p2, q2);
  if (d1 > 0 !== d2 > 0 && d1 !== 0 && d2 !== 0 && d3 > 0 !== d4 > 0 && d3 !== 0 && d4 !== 0) {
    return true;
  }
  return (
    onSegment(q1, q2, p1) || onSegment(q1, q2, p2) || onSegment(p1, p2, q1) || onSegment(p1, p2, q2)
  );
}

/** The first two non-adjacent edges [i, j] (i < j; edge i runs from vertex i) that meet. */
export function firstCrossing(points: readonly Point[]): [number, number] | null {
  const n = points.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue; // adjacent edges share a vertex
      if (segmentsCross(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n])) {
        return [i, j];
      }
    }
  }
  return null;
}

/** Twice the signed area (shoelace); positive when the vertices run counter-clockwise. */
export function area2(points: readonly Point[]): number {
  const n = points.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = points[i];
    const b = points[(i + 1) % n];
    sum += a[0] * b[1] - b[0] * a[1];
  }
  return sum;
}

/** No two non-adjacent edges meet, and the polygon has a non-zero area. */
export function isSimplePolygon(points: readonly Point[]): boolean {
  return firstCrossing(points) === null && area2(points) !== 0;
}

/** A Python int's str() (big integers print in full, not in exponent form). */
function int(n: number): string {
  return Number.isInteger(n) && !Number.isSafeInteger(n) ? BigInt(n).toString() : String(n);
}

/**
 * The first geometric rule a zone's vertices break (model.Zone._geometry), or null: every vertex
 * in the field of view, then no repeated vertex, then no crossing edges, then a non-zero area.
 * The vertex count (3–12) is checked by validateConfig, as pydantic does before this rule.
 */
export function geometryIssue(vertices: readonly Point[]): GeometryIssue | null {
  for (let i = 0; i < vertices.length; i++) {
    const [x, y] = vertices[i];
    if (!inFieldOfView(x, y)) {
      const message = `vertex ${i} (${int(x)}, ${int(y)}) is outside the radar's field of view`;
      return { vertex: i, message };
    }
  }
  for (let j = 0; j < vertices.length; j++) {
    for (let k = 0; k < j; k++) {
      if (vertices[k][0] === vertices[j][0] && vertices[k][1] === vertices[j][1]) {
        return { vertex: j, message: `vertex ${j} repeats vertex ${k}` };
      }
    }
  }
  const crossing = firstCrossing(vertices);
  if (crossing !== null) {
    const [i, j] = crossing;
    return { vertex: j, message: `the polygon intersects itself (edges ${i} and ${j} cross)` };
  }
  if (area2(vertices) === 0) {
    // The model names no vertex for this one: the whole polygon is at fault.
    return { vertex: null, message: "the polygon has no area" };
  }
  return null;
}

const LONE_SURROGATE = /\p{Cs}/u;
// rs1.text: Cc (controls), Cf (format: bidi overrides, zero-width), Cs, Zl, Zp.
const REFUSED = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** What pydantic says about a zone name (PlainText, 1–32 characters), or null. */
function nameIssue(name: string): string | null {
  if (LONE_SURROGATE.test(name)) {
    return "Input should be a valid string, unable to parse raw data as a unicode string";
  }
  const chars = [...name].length; // code points, as Python counts
  if (chars < 1) return "String should have at least 1 character";
  if (chars > MAX_NAME_CHARS) return `String should have at most ${MAX_NAME_CHARS} characters`;
  const bad = REFUSED.exec(name);
  if (bad) {
    const hex = (bad[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0");
    return `Value error, must not contain control or format characters (U+${hex})`;
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isIntPair(value: unknown): value is Point {
  return Array.isArray(value) && value.length === 2 && value.every((c) => Number.isInteger(c));
}

const ZONE_KEYS = new Set(["name", "type", "vertices", "sensitivity", "hold_time_s"]);

/** pydantic's message for a list of n items, more than `max` or fewer than `min`. */
function listLength(n: number, min: number, max: number): string | null {
  if (n < min) return `List should have at least ${min} items after validation, not ${n}`;
  if (n > max) return `List should have at most ${max} items after validation, not ${n}`;
  return null;
}

/** A setting out of its bounds (an integer setting; other values are the schema's). */
function checkRange(
  issues: Issue[],
  path: string,
  value: unknown,
  bounds: { min: number; max: number },
): void {
  if (typeof value !== "number" || !Number.isInteger(value)) return;
  if (value < bounds.min) {
    issues.push({ path, message: `Input should be greater than or equal to ${bounds.min}` });
  } else if (value > bounds.max) {
    issues.push({ path, message: `Input should be less than or equal to ${bounds.max}` });
  }
}

/** One zone's issues, in the model's field order; `readable` is false for a shape error. */
function zoneIssues(zone: unknown, z: number): { issues: Issue[]; readable: boolean } {
  const issues: Issue[] = [];
  if (!isRecord(zone) || Object.keys(zone).some((k) => !ZONE_KEYS.has(k))) {
    return { issues, readable: false };
  }
  let readable = typeof zone.name === "string" && Array.isArray(zone.vertices);
  if (typeof zone.name === "string") {
    const message = nameIssue(zone.name);
    if (message) issues.push({ path: `zones.${z}.name`, message });
  }
  if (zone.type !== undefined && !(ZONE_TYPES as readonly unknown[]).includes(zone.type)) {
    issues.push({ path: `zones.${z}.type`, message: "Input should be 'include' or 'exclude'" });
  }
  const vertices = zone.vertices;
  if (Array.isArray(vertices)) {
    const path = `zones.${z}.vertices`;
    const count = listLength(vertices.length, MIN_VERTICES, MAX_VERTICES);
    if (count) {
      issues.push({ path, message: count });
    } else if (vertices.every(isIntPair)) {
      const issue = geometryIssue(vertices);
      if (issue) {
        const at = issue.vertex === null ? path : `${path}.${issue.vertex}`;
        issues.push({ path: at, message: issue.message });
      }
    } else {
      readable = false; // a vertex that is not two integers: the schema reports it
    }
  }
  // Optional per-zone settings (null or absent: the config's).
  readable &&= [zone.sensitivity, zone.hold_time_s].every((v) => v == null || Number.isInteger(v));
  checkRange(issues, `zones.${z}.sensitivity`, zone.sensitivity, SENSITIVITY);
  checkRange(issues, `zones.${z}.hold_time_s`, zone.hold_time_s, HOLD_TIME_S);
  return { issues, readable };
}

/**
 * The issues the device API would report for this config, in its order, with its paths and
 * messages: every zone's issues (per zone: its name's, its type's, its vertices' first, as the
 * model stops at a polygon's first broken rule, then its own settings'), then the zone list's,
 * then the config's settings'.
 *
 * Like pydantic, it reports more than 16 zones instead of (not besides) the zones' own issues,
 * and repeated names (the first repeat only) once every zone is valid on its own.
 */
export function validateConfig(config: ZoneConfig): Issue[] {
  const issues: Issue[] = [];
  const zones: unknown = config.zones;
  if (Array.isArray(zones)) {
    const count = listLength(zones.length, 0, MAX_ZONES);
    if (count) {
      issues.push({ path: "zones", message: count });
    } else {
      let allValid = true;
      zones.forEach((zone, z) => {
        const found = zoneIssues(zone, z);
        issues.push(...found.issues);
        allValid &&= found.readable && found.issues.length === 0;
      });
      if (allValid) {
        const names = (zones as Zone[]).map((zone) => zone.name);
        const j = names.findIndex((name, k) => names.indexOf(name) < k);
        if (j >= 0) {
          const message = `zone names must be unique ('${names[j]}' repeats)`;
          issues.push({ path: `zones.${j}.name`, message });
        }
      }
    }
  }
  checkRange(issues, "sensitivity", config.sensitivity, SENSITIVITY);
  checkRange(issues, "hold_time_s", config.hold_time_s, HOLD_TIME_S);
  return issues;
}

/** The widest |x| allowed at integer distance y (the field of view's row y). */
function halfWidth(y: number): number {
  return Math.min(MAX_RANGE_MM, Math.floor(y * TAN_60 + 1e-9));
}

/**
 * The integer point inside the field of view nearest to (x, y) (Euclidean; a point that rounds
 * to an inside point is just rounded). Exact: it searches the rows y = 0..6000 outwards from
 * y rounded (alternately one lower, one higher), a row's nearest point being x rounded and
 * clamped to the row's width, and stops once the rows are farther than the best point found;
 * of equally near points, the first found wins. x and y must be finite.
 */
export function clampToFieldOfView(x: number, y: number): [number, number] {
  if (!Number.isFinite(x) || !Number.isFinite(y)) throw new RangeError(`not a point: (${x}, ${y})`);
  const rx = Math.round(x) + 0; // + 0: no -0
  const ry = Math.round(y) + 0;
  if (inFieldOfView(rx, ry)) return [rx, ry];
  let best: [number, number] = [0, 0];
  let bestD = Infinity;
  const consider = (row: number): boolean => {
    const dy = (row - y) ** 2;
    if (dy > bestD) return false; // this row and those beyond it are farther
    const w = halfWidth(row);
    const cx = Math.min(w, Math.max(-w, rx)) + 0;
    const d = (cx - x) ** 2 + dy;
    if (d < bestD) {
      bestD = d;
      best = [cx, row];
    }
    return true;
  };
  const start = Math.min(MAX_RANGE_MM, Math.max(0, ry));
  consider(start);
  let down = true;
  let up = true;
  for (let k = 1; down || up; k++) {
    down = down && start - k >= 0 && consider(start - k);
    up = up && start + k <= MAX_RANGE_MM && consider(start + k);
  }
  return best;
}

/**
 * Where a vertex inserted halfway along the edge a–b goes: the integer point inside the field of
 * view nearest to the edge's exact midpoint (rounding the midpoint alone can leave the ±60°
 * lines; the exact midpoint of two inside points is inside, so this moves it by under 1 mm).
 */
export function midpoint(a: Point, b: Point): [number, number] {
  return clampToFieldOfView((a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
}

/**
 * The field of view's outline in mm, counter-clockwise from the sensor at (0, 0): out along
 * the +60° line to x = 6000 (y = 6000 / tan 60° ≈ 3464.1), up to (6000, 6000), across to
 * (-6000, 6000), down to the -60° line and back. It is exactly the region inFieldOfView
 * accepts (a pentagon: range is limited in y and x, not radially), so drawing it shows where
 * vertices may go; `steps` (>= 1) splits each of its five edges into that many segments.
 * The first point is not repeated at the end.
 */
export function fovOutline(steps = 1): [number, number][] {
  const n = Math.max(1, Math.floor(steps));
  const corner = MAX_RANGE_MM / TAN_60;
  const corners: [number, number][] = [
    [0, 0],
    [MAX_RANGE_MM, corner],
    [MAX_RANGE_MM, MAX_RANGE_MM],
    [-MAX_RANGE_MM, MAX_RANGE_MM],
    [-MAX_RANGE_MM, corner],
  ];
  const out: [number, number][] = [];
  corners.forEach(([x0, y0], c) => {
    const [x1, y1] = corners[(c + 1) % corners.length];
    for (let s = 0; s < n; s++) out.push([x0 + ((x1 - x0) * s) / n, y0 + ((y1 - y0) * s) / n]);
  });
  return out;
}

/**
 * Whether (x, y) is inside the polygon, for highlighting occupied zones. Boundary rule: a point
 * on an edge or a vertex counts as inside (the polygon is closed); elsewhere the even-odd rule,
 * which for a simple polygon (every valid zone) is plain inside/outside. Exact for integer
 * inputs (no division); targets' fractional millimetres are fine too.
 */
export function pointInPolygon(x: number, y: number, points: readonly Point[]): boolean {
  const n = points.length;
  const p: Point = [x, y];
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = points[i];
    const b = points[j];
    if (onSegment(a, b, p)) return true;
    if (a[1] > y !== b[1] > y) {
      // The edge crosses the horizontal line through p: is the crossing to p's right?
      const lhs = (x - a[0]) * (b[1] - a[1]);
      const rhs = (y - a[1]) * (b[0] - a[0]);
      if (b[1] > a[1] ? lhs < rhs : lhs > rhs) inside = !inside;
    }
  }
  return inside;
}
