import { deriveSeed, Random } from '../../nn/random.js';

/**
 * splitEachLabel: of each class's images, `round(n * testFraction)` drawn at random (seeded) go to
 * the test split, so both splits keep the classes' proportions. The same labels, fraction and seed
 * always give the same split; the seed and fraction are recorded in the dataset's manifest.
 */
export function splitEachLabel(labels: ArrayLike<number>, classCount: number, testFraction: number, seed: number): Uint8Array {
  if (!(testFraction >= 0 && testFraction < 1)) throw new RangeError(`testFraction must be in [0, 1), got ${testFraction}`);
  const byClass: number[][] = Array.from({ length: classCount }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const isTest = new Uint8Array(labels.length);
  byClass.forEach((members, label) => {
    const order = new Random(deriveSeed(seed, label)).permutation(members.length);
    const take = Math.round(members.length * testFraction);
    for (let k = 0; k < take; k++) isTest[members[order[k]!]!] = 1;
  });
  return isTest;
}
