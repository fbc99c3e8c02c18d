/**
 * A small seeded generator (SplitMix32): the same seed gives the same shuffles and the same
 * initial weights on every machine and backend.
 */
export class Random {
  private current: number;

  constructor(seed: number) {
    this.current = seed >>> 0;
  }

  /** Where the generator stands: a generator set to it draws what this one would draw next (checkpoints). */
  get state(): number {
    return this.current;
  }

  set state(value: number) {
    this.current = value >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.current = (this.current + 0x9e3779b9) >>> 0;
    let z = this.current;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/** A seed for one consumer (a layer, the shuffler) derived from the run's seed, stable across runs. */
export function deriveSeed(seed: number, stream: number): number {
  return new Random((seed ^ Math.imul(stream + 1, 0x27d4eb2d)) >>> 0).nextUint32();
}

/** A seed for a run that was given none; reported with the result so the run can be repeated. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
