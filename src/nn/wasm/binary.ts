/**
 * The few facts trainyard reads from (and adapts in) its kernels binary before instantiating it:
 * where its sections are, whether it has a data section, and its memory import made shared for
 * tfjs-backend-wasm's threaded build, whose memory is a SharedArrayBuffer.
 */

interface Section {
  id: number;
  /** Offset of the section's id byte. */
  start: number;
  /** Offset of its contents (after the size). */
  contents: number;
  /** Offset just past it. */
  end: number;
}

/** An unsigned LEB128 at `at`: its value and the offset after it. */
function readLeb(binary: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = binary[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return { value, next: at };
  }
}

function leb(value: number): number[] {
  const bytes: number[] = [];
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    bytes.push(value > 0 ? low | 0x80 : low);
  } while (value > 0);
  return bytes;
}

/** The sections of a wasm binary, walking their headers after the 8-byte preamble. */
function sections(binary: Uint8Array): Section[] {
  const found: Section[] = [];
  let at = 8;
  while (at < binary.length) {
    const start = at;
    const id = binary[at++]!;
    const size = readLeb(binary, at);
    found.push({ id, start, contents: size.next, end: size.next + size.value });
    at = size.next + size.value;
  }
  return found;
}

/** Whether a wasm binary has a data section (id 11). */
export function hasDataSection(binary: Uint8Array): boolean {
  return sections(binary).some((s) => s.id === 11);
}

const IMPORT_SECTION = 2;
const MEMORY_KIND = 2;
const SHARED_WITH_MAXIMUM = 0x03;
/** wasm32's largest memory, in 64 KiB pages: any shared memory tfjs makes fits under it. */
const MAX_PAGES = 65536;

/**
 * The binary with its one import, a memory, declared shared (with wasm32's largest maximum, as a
 * shared memory must declare one): an import matches a memory only when both are shared or both
 * not, and the kernels' plain loads and stores are valid on either. Throws on any other import
 * section, which kernelsModule's checks rule out anyway.
 */
export function withSharedMemoryImport(binary: Uint8Array): Uint8Array {
  const section = sections(binary).find((s) => s.id === IMPORT_SECTION);
  if (!section) throw new Error('the kernels binary has no import section');
  let at = readLeb(binary, section.contents);
  if (at.value !== 1) throw new Error('the kernels binary must import exactly one thing, its memory');
  at = readLeb(binary, at.next); // module name length
  at = readLeb(binary, at.next + at.value); // field name length
  const kindAt = at.next + at.value;
  if (binary[kindAt] !== MEMORY_KIND) throw new Error('the kernels binary imports something other than a memory');
  const minimum = readLeb(binary, kindAt + 2);
  const limitsEnd = (binary[kindAt + 1]! & 1) === 1 ? readLeb(binary, minimum.next).next : minimum.next;
  if (limitsEnd !== section.end) throw new Error('the kernels binary\'s import section has more than its memory');
  const contents = [
    ...binary.subarray(section.contents, kindAt + 1),
    SHARED_WITH_MAXIMUM,
    ...leb(minimum.value),
    ...leb(MAX_PAGES),
  ];
  return Uint8Array.from([
    ...binary.subarray(0, section.start),
    IMPORT_SECTION,
    ...leb(contents.length),
    ...contents,
    ...binary.subarray(section.end),
  ]);
}
