/**
 * The few pieces of the WebAssembly binary format that trainyard's hand-built modules need (a
 * custom layer's program, src/nn/wasm/expression-module.ts; the peak-rate loop of bench/wasm-peak.ts).
 */

/** Unsigned LEB128: sizes, indices, counts and SIMD opcodes. */
export function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    const low = value & 0x7f;
    value >>>= 7;
    bytes.push(value > 0 ? low | 0x80 : low);
  } while (value > 0);
  return bytes;
}

/** Signed LEB128 of a 32-bit integer (i32.const's immediate). */
export function sleb(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const low = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (low & 0x40) === 0) || (value === -1 && (low & 0x40) !== 0)) return [...bytes, low];
    bytes.push(low | 0x80);
  }
}

/** A vector of bytes: its length, then the bytes. */
export const vector = (bytes: number[]) => [...uleb(bytes.length), ...bytes];

/** A module section: its id, then its contents as a vector. */
export const section = (id: number, contents: number[]) => [id, ...vector(contents)];
