/**
 * A value as an error message shows what arrived: `"fast"`, `-1`, `NaN`, `null`, `nothing` (undefined),
 * `Float32Array(3)`, `an array of 4`, `an object`. Strings are cut at 40 characters so a message stays
 * one line whatever the input.
 */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string')
    return v.length > 40 ? `${JSON.stringify(v.slice(0, 40)).slice(0, -1)}…"` : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (ArrayBuffer.isView(v))
    return `${typedArrayTag(v) ?? 'binary'}(${(v as { length?: number }).length ?? v.byteLength})`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** `Float32Array`, `Uint8Array`, … by tag, so it also works across realms; a Buffer reports `Uint8Array`. */
export function typedArrayTag(v: unknown): string | undefined {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return undefined;
  return Object.prototype.toString.call(v).slice(8, -1);
}
