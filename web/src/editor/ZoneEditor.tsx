// The zone canvas: the LD2450's field of view (±60°, 6 m) in millimetres, the zones as
// polygons, live targets as dots. Vertices are dragged with the pointer or moved with the
// arrow keys (Shift: 250 mm), deleted with Delete; an edge's midpoint handle inserts a vertex.
// In draw mode each click adds a vertex; Enter (or "Finish") closes the polygon.
import { useEffect, useRef } from "preact/hooks";
import type { Issue } from "../api.ts";
import { clampToFieldOfView, fovOutline, MAX_RANGE_MM, midpoint, pointInPolygon } from "./geometry.ts";
import { targetOf, type Point, type Zone } from "./types.ts";

export type Selection = { zone: number | null; vertex: number | null };
export type LiveTarget = { id: number; x_mm: number; y_mm: number };

type Props = {
  zones: Zone[];
  selection: Selection;
  issues: Issue[];
  targets: LiveTarget[];
  drawing: Point[] | null;
  readOnly: boolean;
  onSelect: (s: Selection) => void;
  onMove: (zone: number, vertex: number, to: Point) => void;
  onInsert: (zone: number, after: number, at: Point) => void;
  onDelete: (zone: number, vertex: number) => void;
  onDrawPoint: (at: Point) => void;
  onDrawFinish: () => void;
  onDrawCancel: () => void;
};

const PAD = 300;
const VIEW = `${-MAX_RANGE_MM - PAD} ${-MAX_RANGE_MM - PAD} ${2 * (MAX_RANGE_MM + PAD)} ${MAX_RANGE_MM + 2 * PAD}`;
const STEP = 50;
const BIG_STEP = 250;
const FOV = fovOutline(48).map(([x, y]) => `${x},${-y}`).join(" ");
const ARCS = [1000, 2000, 3000, 4000, 5000, 6000];

function svgPath(points: Point[]): string {
  return points.map(([x, y]) => `${x},${-y}`).join(" ");
}

export function ZoneEditor(props: Props) {
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<{ zone: number; vertex: number; pointer: number } | null>(null);
  const { zones, selection, issues, readOnly } = props;

  // Keyboard users keep their place: after a delete or insert the focus follows the selection.
  useEffect(() => {
    const root = svg.current;
    if (!root || selection.zone === null || selection.vertex === null) return;
    const el = root.querySelector<SVGElement>(`circle.vertex[data-zone-index="${selection.zone}"][data-vertex="${selection.vertex}"]`);
    const inside = document.activeElement instanceof Element && root.contains(document.activeElement);
    if (el && inside && document.activeElement !== el) el.focus();
  }, [selection.zone, selection.vertex, zones]);

  const toMm = (event: PointerEvent | MouseEvent): Point => {
    const el = svg.current as SVGSVGElement;
    const matrix = el.getScreenCTM();
    if (!matrix) return [0, 0];
    const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return clampToFieldOfView(Math.round(p.x), Math.round(-p.y));
  };
  const issueAt = (zone: number, vertex: number | null) =>
    issues.find((i) => {
      const t = targetOf(i.path);
      return t.zone === zone && (vertex === null ? t.vertex === null : t.vertex === vertex);
    });

  const onVertexDown = (event: PointerEvent, zone: number, vertex: number) => {
    event.stopPropagation();
    props.onSelect({ zone, vertex });
    if (readOnly) return;
    drag.current = { zone, vertex, pointer: event.pointerId };
    (event.currentTarget as Element).setPointerCapture(event.pointerId);
  };
  const onPointerMove = (event: PointerEvent) => {
    const d = drag.current;
    if (d && d.pointer === event.pointerId) props.onMove(d.zone, d.vertex, toMm(event));
  };
  const onPointerUp = () => {
    drag.current = null;
  };
  const onCanvasClick = (event: MouseEvent) => {
    if (props.drawing) props.onDrawPoint(toMm(event));
    else props.onSelect({ zone: null, vertex: null });
  };
  const onVertexKey = (event: KeyboardEvent, zone: number, vertex: number) => {
    const step = event.shiftKey ? BIG_STEP : STEP;
    const moves: Record<string, Point> = {
      ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step],
    };
    const [x, y] = zones[zone].vertices[vertex];
    if (event.key in moves && !readOnly) {
      const [dx, dy] = moves[event.key];
      props.onMove(zone, vertex, clampToFieldOfView(x + dx, y + dy));
    } else if ((event.key === "Delete" || event.key === "Backspace") && !readOnly) {
      props.onDelete(zone, vertex);
    } else if (event.key === "Enter" || event.key === " ") {
      props.onSelect({ zone, vertex });
    } else {
      return;
    }
    event.preventDefault();
  };
  const onSvgKey = (event: KeyboardEvent) => {
    if (!props.drawing) return;
    if (event.key === "Enter") props.onDrawFinish();
    else if (event.key === "Escape") props.onDrawCancel();
    else return;
    event.preventDefault();
  };

  return (
    <div class="editor">
      <svg
        ref={svg}
        viewBox={VIEW}
        role="application"
        aria-label="Zone editor: the radar's field of view, 6 m ahead and 60 degrees each side"
        aria-roledescription="zone canvas"
        tabIndex={0}
        data-drawing={props.drawing ? "true" : "false"}
        onClick={onCanvasClick}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onKeyDown={onSvgKey}
      >
        <polygon class="fov" points={FOV} />
        {ARCS.map((y) => (
          <g key={y}>
            <line class="gridline" x1={-MAX_RANGE_MM} x2={MAX_RANGE_MM} y1={-y} y2={-y} />
            <text class="range" x={-MAX_RANGE_MM + 80} y={-y - 60} aria-hidden="true">{y / 1000} m</text>
          </g>
        ))}
        <line class="gridline" x1={0} x2={0} y1={0} y2={-MAX_RANGE_MM} />
        {zones.map((zone, z) => {
          const occupied = props.targets.some((t) => pointInPolygon(t.x_mm, t.y_mm, zone.vertices));
          const classes = ["zone", zone.type, selection.zone === z ? "selected" : "",
            occupied ? "occupied" : "", issueAt(z, null) ? "invalid" : ""].join(" ");
          return (
            <polygon
              key={`z${z}`}
              class={classes}
              points={svgPath(zone.vertices)}
              data-zone={zone.name}
              data-occupied={occupied ? "true" : "false"}
              onClick={(e) => {
                e.stopPropagation();
                if (props.drawing) props.onDrawPoint(toMm(e));
                else props.onSelect({ zone: z, vertex: null });
              }}
            >
              <title>{`${zone.name} (${zone.type})${occupied ? ", occupied" : ""}`}</title>
            </polygon>
          );
        })}
        {selection.zone !== null && !readOnly && !props.drawing && zones[selection.zone] &&
          zones[selection.zone].vertices.length < 12 &&
          zones[selection.zone].vertices.map((p, i, all) => {
            const q = all[(i + 1) % all.length];
            const at: Point = midpoint(p, q); // rounded into the field of view
            const z = selection.zone as number;
            return (
              <circle
                key={`m${i}`}
                class="insert"
                cx={at[0]}
                cy={-at[1]}
                r={90}
                data-insert={i}
                tabIndex={0}
                role="button"
                aria-label={`Insert a vertex between vertices ${i + 1} and ${((i + 1) % all.length) + 1}`}
                onClick={(e) => {
                  e.stopPropagation();
                  props.onInsert(z, i, at);
                }}
                onKeyDown={(e) => {
                  if (e.key !== "Enter" && e.key !== " ") return;
                  e.preventDefault();
                  props.onInsert(z, i, at);
                }}
              >
                <title>Insert a vertex here</title>
              </circle>
            );
          })}
        {zones.map((zone, z) =>
          zone.vertices.map(([x, y], v) => {
            const issue = issueAt(z, v);
            const selected = selection.zone === z && selection.vertex === v;
            return (
              <circle
                key={`v${z}-${v}`}
                class={`vertex${selected ? " selected" : ""}${issue ? " invalid" : ""}`}
                cx={x}
                cy={-y}
                r={selected ? 150 : 110}
                tabIndex={selection.zone === z || selection.zone === null ? 0 : -1}
                role="button"
                aria-label={`${zone.name} vertex ${v + 1} at x ${x} mm, y ${y} mm${issue ? `: ${issue.message}` : ""}`}
                aria-pressed={selected}
                aria-invalid={issue ? "true" : undefined}
                data-zone={zone.name}
                data-zone-index={z}
                data-vertex={v}
                data-issue={issue?.message}
                onPointerDown={(e) => onVertexDown(e, z, v)}
                onClick={(e) => e.stopPropagation()}
                onKeyDown={(e) => onVertexKey(e, z, v)}
                onFocus={() => props.onSelect({ zone: z, vertex: v })}
              >
                <title>{issue ? issue.message : `${zone.name} vertex ${v + 1}`}</title>
              </circle>
            );
          }),
        )}
        {props.drawing && props.drawing.length > 0 && (
          <polyline class="zone include selected" points={svgPath(props.drawing)} fill="none" />
        )}
        {props.targets.map((t) => (
          <circle key={`t${t.id}`} class="target" cx={t.x_mm} cy={-t.y_mm} r={130} data-target={t.id}>
            <title>{`Target ${t.id} at ${t.x_mm}, ${t.y_mm} mm`}</title>
          </circle>
        ))}
        <circle class="sensor" cx={0} cy={0} r={120}>
          <title>The sensor</title>
        </circle>
      </svg>
    </div>
  );
}
