// Wire format shared by the Node host and the bridge Worker: JSON, with binary values as
// {"$b64": "..."}. Uses only btoa/atob so it runs in both Node and workerd.

const B64 = "$b64";

// The bridge Worker's service binding to the Node host (queue batches go to the host on it).
export const HOST_SERVICE = "RS1_LOCAL_HOST";

export function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// Binary values cross the wire as {"$b64": "..."} both ways.
export function encode(value) {
  // Never converted: workerd's bindings refuse BigInt (Pyodide's form of a Python int above
  // 2**53); D1's bind() already threw its own error before anything reaches the wire.
  if (typeof value === "bigint") throw new TypeError(`BigInt ${value} cannot cross a binding`);
  if (value instanceof ArrayBuffer) return { [B64]: toBase64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) {
    return { [B64]: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

export function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === "object") {
    if (B64 in value) return fromBase64(value[B64]);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

// Structured-clone values (queue message bodies, which workerd carries as JSON, text, bytes or
// V8-serialized) as JSON: plain data as itself, anything JSON cannot carry as {"$v": [tag, data]}
// so that it arrives as the same type on the other side.
const TAG = "$v";

function cloneError(what) {
  const err = new Error(`${what} could not be cloned.`);
  err.name = "DataCloneError";
  return err;
}

function isView(value) {
  return ArrayBuffer.isView(value);
}

export function toWire(value, ancestors = new Set()) {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return { [TAG]: ["undefined"] };
    case "bigint":
      return { [TAG]: ["bigint", String(value)] };
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { [TAG]: ["number", String(Object.is(value, -0) ? "-0" : value)] };
    case "function":
    case "symbol":
      throw cloneError(String(value));
  }
  if (value === null) return null;
  if (ancestors.has(value)) throw new TypeError("The local host cannot carry a cyclic value.");
  ancestors.add(value);
  try {
    if (value instanceof Date) return { [TAG]: ["date", toWire(value.getTime())] };
    if (value instanceof RegExp) return { [TAG]: ["regexp", [value.source, value.flags]] };
    if (value instanceof ArrayBuffer) return { [TAG]: ["arraybuffer", toBase64(new Uint8Array(value))] };
    if (isView(value)) {
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return { [TAG]: ["view", [value.constructor.name, toBase64(bytes)]] };
    }
    if (value instanceof Map) {
      return { [TAG]: ["map", [...value].map(([k, v]) => [toWire(k, ancestors), toWire(v, ancestors)])] };
    }
    if (value instanceof Set) return { [TAG]: ["set", [...value].map((v) => toWire(v, ancestors))] };
    if (value instanceof Error) return { [TAG]: ["error", [value.name, value.message]] };
    if (Array.isArray(value)) return Array.from(value, (v) => toWire(v, ancestors));
    const entries = Object.keys(value).map((k) => [k, toWire(value[k], ancestors)]);
    if (TAG in value || "$b64" in value) return { [TAG]: ["object", entries] };
    return Object.fromEntries(entries);
  } finally {
    ancestors.delete(value);
  }
}

const VIEWS = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};

export function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value === null || typeof value !== "object") return value;
  if (!(TAG in value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v)]));
  }
  const [tag, data] = value[TAG];
  switch (tag) {
    case "undefined":
      return undefined;
    case "bigint":
      return BigInt(data);
    case "number":
      return Number(data);
    case "date":
      return new Date(fromWire(data));
    case "regexp":
      return new RegExp(data[0], data[1]);
    case "arraybuffer":
      return fromBase64(data).buffer;
    case "view": {
      const bytes = fromBase64(data[1]);
      const View = VIEWS[data[0]] || Uint8Array; // a Node Buffer arrives as the Uint8Array it is
      const per = View.BYTES_PER_ELEMENT || 1;
      return new View(bytes.buffer, 0, bytes.byteLength / per);
    }
    case "map":
      return new Map(data.map(([k, v]) => [fromWire(k), fromWire(v)]));
    case "set":
      return new Set(data.map(fromWire));
    case "error": {
      const Ctor = { EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError }[data[0]] || Error;
      return new Ctor(data[1]);
    }
    case "object":
      return Object.fromEntries(data.map(([k, v]) => [k, fromWire(v)]));
    default:
      throw new TypeError(`unknown wire tag ${tag}`);
  }
}
