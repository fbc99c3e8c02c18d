import { ValueKind, type ExpressionAttrs } from '../kernels/names.js';
import { section, sleb, uleb, vector } from './wasm-encoding.js';

/**
 * A custom layer's compiled expressions (the code fused.ts gives expression.c) as a wasm module of
 * their own: one loop over the tensor whose body is the whole program on one vector of 4 floats,
 * every value in a v128 local, so that nothing goes through memory between operations (the
 * register machine stores and reloads every value). Built once per program (expressionModule
 * caches it) and instantiated on the backend's memory like trainyard's C kernels.
 *
 * The module's one function, run(inputs..., outputs..., bytes, periodBytes, table), covers `bytes` of
 * every full input and output from the pointers given, 16 bytes a step, starting at a whole period
 * of lcm(channels, 4) floats. A per-channel or scalar input is read from a tile of `periodBytes`
 * (its values over one period); a summed output adds into an accumulator of one double for each
 * float of the period (lane i of a step into the double of its float), which the caller folds into
 * per-channel totals: sums in double, as exact as the register machine's and cheaper to fold.
 */

const I32 = 0x7f;
const V128 = 0x7b;

/** SIMD opcodes (after the 0xfd prefix) and the few core ones used. */
const simd = {
  load: 0x00, store: 0x0b, const: 0x0c, shuffle: 0x0d, promoteLow: 0x5f, f64Add: 0xf0,
  eq: 0x41, ne: 0x42, lt: 0x43, gt: 0x44, le: 0x45, ge: 0x46,
  and: 0x4e, or: 0x50, bitselect: 0x52,
  i32Shl: 0xab, i32ShrS: 0xac, i32Add: 0xae, i32Sub: 0xb1,
  abs: 0xe0, neg: 0xe1, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9, pmin: 0xea, pmax: 0xeb,
} as const;
const core = { block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, select: 0x1b, localGet: 0x20, localSet: 0x21, localTee: 0x22, i32Const: 0x41, i32Eq: 0x46, i32GeU: 0x4f, i32Add: 0x6a, i32Shl: 0x74 } as const;

const name = (text: string) => vector([...new TextEncoder().encode(text)]);

/** Four lanes of one float32 (by value) or one int32 (by bits), as v128.const's immediate. */
function splatBytes(value: number, asInt = false): number[] {
  const lane = new Uint8Array(asInt ? Int32Array.of(value).buffer : Float32Array.of(value).buffer);
  return [...lane, ...lane, ...lane, ...lane];
}

// The operation codes fused.ts emits (expression.c's enum order).
const Op = { add: 0, sub: 1, mul: 2, div: 3, neg: 4, lt: 5, le: 6, gt: 7, ge: 8, eq: 9, ne: 10, and: 11, or: 12, not: 13, where: 14, exp: 15, sqrt: 16, abs: 17, sign: 18, min: 19, max: 20, relu: 21, clip: 22 } as const;

/** The function body: parameters, then locals off and toff (i32), then v128 locals for the inputs, the steps, exp's temporaries and the constants. */
function body(a: ExpressionAttrs): { body: number[]; table: Int32Array } {
  const nIn = a.inputKinds.length;
  const nOut = a.outputKinds.length;
  const nConst = a.constants.length;
  const bytesParam = nIn + nOut;
  const periodParam = bytesParam + 1;
  const tableParam = periodParam + 1;
  const off = tableParam + 1;
  const toff = off + 1;
  const sumAt = toff + 1;
  const inputLocal = (j: number) => sumAt + 1 + j;
  const registerLocal = (r: number) => sumAt + 1 + nIn + r;
  const temp = sumAt + 1 + nIn + a.registers; // exp's x, t, n, r, p
  const code: number[] = [];
  const op = (o: number) => code.push(0xfd, ...uleb(o));
  const get = (local: number) => code.push(core.localGet, ...uleb(local));
  const set = (local: number) => code.push(core.localSet, ...uleb(local));
  // Constants are loaded from the caller's table into locals before the loop: V8 would fold a
  // v128.const into every use and build it anew there each iteration (three instructions each).
  const constantLocals = new Map<string, { local: number; bytes: number[] }>();
  const constant = (value: number, asInt = false) => {
    const bytes = splatBytes(value, asInt);
    const key = bytes.slice(0, 4).join();
    let known = constantLocals.get(key);
    if (!known) constantLocals.set(key, (known = { local: temp + 5 + constantLocals.size, bytes }));
    get(known.local);
  };
  const memarg = [4, 0]; // 16-byte alignment hint, offset 0
  const address = (pointer: number, offsetLocal: number) => code.push(core.localGet, ...uleb(pointer), core.localGet, ...uleb(offsetLocal), core.i32Add);
  const operand = (slot: number) => {
    if (slot < nIn) get(inputLocal(slot));
    else if (slot < nIn + nConst) constant(a.constants[slot - nIn]!);
    else get(registerLocal(slot - nIn - nConst));
  };
  /** The 0/1 float of a comparison mask on the stack. */
  const truth = () => {
    constant(1);
    op(simd.and);
  };
  const nonzero = (slot: number) => {
    operand(slot);
    constant(0);
    op(simd.ne);
  };
  /** exp of the value on the stack, as expression.c's exp_any (the same operations in the same order). */
  const exp = () => {
    const [x, t, n, r, p] = [temp, temp + 1, temp + 2, temp + 3, temp + 4];
    constant(89);
    op(simd.pmin);
    constant(-87.33654);
    op(simd.pmax);
    set(x);
    get(x);
    constant(1.44269504088896341);
    op(simd.mul);
    constant(12582912);
    op(simd.add);
    set(t);
    get(t);
    constant(12582912);
    op(simd.sub);
    set(n); // n as a float here
    get(x);
    get(n);
    constant(0.693359375);
    op(simd.mul);
    op(simd.sub);
    get(n);
    constant(-2.1219444e-4);
    op(simd.mul);
    op(simd.sub);
    set(r);
    constant(1.98756915e-4);
    for (const c of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) {
      get(r);
      op(simd.mul);
      constant(c);
      op(simd.add);
    }
    set(p);
    get(r);
    get(p);
    get(r);
    get(r);
    op(simd.mul);
    op(simd.mul);
    op(simd.add);
    constant(1);
    op(simd.add);
    set(p);
    // n as an integer, h = n >> 1: p 2^h 2^(n - h).
    get(t);
    constant(0x4b400000, true);
    op(simd.i32Sub);
    set(n);
    const twoTo = () => {
      constant(127, true);
      op(simd.i32Add);
      code.push(core.i32Const, ...sleb(23));
      op(simd.i32Shl);
    };
    get(p);
    get(n);
    code.push(core.i32Const, 1);
    op(simd.i32ShrS);
    set(x); // h
    get(x);
    twoTo();
    op(simd.mul);
    get(n);
    get(x);
    op(simd.i32Sub);
    twoTo();
    op(simd.mul);
  };

  code.push(core.block, 0x40, core.loop, 0x40);
  get(off);
  get(bytesParam);
  code.push(core.i32GeU, core.brIf, 1);
  const used = new Set<number>();
  for (let k = 0; k < a.code.length; k += 5) for (const s of a.code.slice(k + 2, k + 5)) used.add(s);
  for (const s of a.outputSlots) used.add(s);
  a.inputKinds.forEach((kind, j) => {
    if (!used.has(j)) return;
    address(j, kind === ValueKind.Full ? off : toff);
    code.push(0xfd, simd.load, ...memarg);
    set(inputLocal(j));
  });
  for (let k = 0; k < a.code.length; k += 5) {
    const [o, dest, x, y, z] = a.code.slice(k, k + 5) as [number, number, number, number, number];
    const binary = (simdOp: number) => {
      operand(x);
      operand(y);
      op(simdOp);
    };
    /*
     * min and max propagate NaN (f32x4.min and max, several instructions each in V8). Against a
     * constant, pmin(v, c) and pmax(v, c) (one instruction) do the same: they give v, NaN
     * included, unless c is the lesser (greater); only a zero against a zero of the other sign
     * can come out with the other sign.
     */
    const isConstant = (slot: number) => slot >= nIn && slot < nIn + nConst && !Number.isNaN(a.constants[slot - nIn]);
    const minMax = (exact: number, pseudo: number) => {
      if (!isConstant(x) && !isConstant(y)) return binary(exact);
      operand(isConstant(y) ? x : y);
      operand(isConstant(y) ? y : x);
      op(pseudo);
    };
    const unary = (simdOp: number) => {
      operand(x);
      op(simdOp);
    };
    switch (o) {
      case Op.add: binary(simd.add); break;
      case Op.sub: binary(simd.sub); break;
      case Op.mul: binary(simd.mul); break;
      case Op.div: binary(simd.div); break;
      case Op.min: minMax(simd.min, simd.pmin); break;
      case Op.max: minMax(simd.max, simd.pmax); break;
      case Op.lt: binary(simd.lt); truth(); break;
      case Op.le: binary(simd.le); truth(); break;
      case Op.gt: binary(simd.gt); truth(); break;
      case Op.ge: binary(simd.ge); truth(); break;
      case Op.eq: binary(simd.eq); truth(); break;
      case Op.ne: binary(simd.ne); truth(); break;
      case Op.and: nonzero(x); nonzero(y); op(simd.and); truth(); break;
      case Op.or: nonzero(x); nonzero(y); op(simd.or); truth(); break;
      case Op.not: operand(x); constant(0); op(simd.eq); truth(); break;
      case Op.neg: unary(simd.neg); break;
      case Op.abs: unary(simd.abs); break;
      case Op.sqrt: unary(simd.sqrt); break;
      case Op.exp: operand(x); exp(); break;
      case Op.relu: operand(x); constant(0); op(simd.pmax); break;
      case Op.sign: operand(x); constant(0); op(simd.gt); truth(); operand(x); constant(0); op(simd.lt); truth(); op(simd.sub); break;
      case Op.where: operand(y); operand(z); nonzero(x); op(simd.bitselect); break;
      case Op.clip: operand(x); operand(y); op(simd.max); operand(z); op(simd.min); break;
      default: throw new Error(`expression-module: unknown operation ${o}`);
    }
    set(registerLocal(dest - nIn - nConst));
  }
  a.outputKinds.forEach((kind, o) => {
    if (kind === ValueKind.Full) {
      address(nIn + o, off);
      operand(a.outputSlots[o]!);
      code.push(0xfd, simd.store, ...memarg);
    } else {
      // The accumulator's doubles for these 4 floats are at 2 toff: lanes 0-1 widened and added to the first pair, lanes 2-3 to the next.
      code.push(core.localGet, ...uleb(nIn + o), core.localGet, ...uleb(toff), core.i32Const, 1, core.i32Shl, core.i32Add, core.localSet, ...uleb(sumAt));
      for (const half of [0, 1]) {
        get(sumAt);
        get(sumAt);
        code.push(0xfd, simd.load, 3, 16 * half);
        operand(a.outputSlots[o]!);
        if (half === 1) {
          operand(a.outputSlots[o]!);
          code.push(0xfd, simd.shuffle, ...[8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
        }
        op(simd.promoteLow);
        op(simd.f64Add);
        code.push(0xfd, simd.store, 3, 16 * half);
      }
    }
  });
  // off += 16; toff = toff + 16 == period ? 0 : toff + 16
  get(off);
  code.push(core.i32Const, 16, core.i32Add);
  set(off);
  code.push(core.i32Const, 0);
  get(toff);
  code.push(core.i32Const, 16, core.i32Add, core.localTee, ...uleb(toff));
  get(toff);
  get(periodParam);
  code.push(core.i32Eq, core.select);
  set(toff);
  code.push(core.br, 0, core.end, core.end, core.end);
  const locals = [...uleb(2), ...uleb(3), I32, ...uleb(nIn + a.registers + 5 + constantLocals.size), V128];
  const table = [...constantLocals.values()];
  const prelude = table.flatMap(({ local }, k) => [core.localGet, ...uleb(tableParam), 0xfd, simd.load, 4, ...uleb(16 * k), core.localSet, ...uleb(local)]);
  return { body: vector([...locals, ...prelude, ...code]), table: new Int32Array(Uint8Array.from(table.flatMap((c) => c.bytes)).buffer) };
}

/**
 * The module's bytes, importing env.memory (shared or not, as the backend's is), and the table of
 * constants (4 lanes each) its run reads from its last argument, a pointer to a copy of `table`.
 */
export function expressionModule(a: ExpressionAttrs, sharedMemory: boolean): { bytes: Uint8Array; table: Int32Array } {
  const params = a.inputKinds.length + a.outputKinds.length + 3;
  const memoryLimits = sharedMemory ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const code = body(a);
  const bytes = Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, ...uleb(params), ...Array<number>(params).fill(I32), 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...memoryLimits]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('run'), 0x00, 0]),
    ...section(10, [1, ...code.body]),
  ]);
  return { bytes, table: code.table };
}
