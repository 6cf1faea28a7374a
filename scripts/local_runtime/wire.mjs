// Wire format shared by the Node host and the bridge Worker: JSON, with binary values as
// {"$b64": "..."}. Uses only btoa/atob so it runs in both Node and workerd.

const B64 = "$b64";

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
