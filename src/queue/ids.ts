import { randomBytes } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32

/**
 * A job id that sorts by creation time (a ULID: 48-bit milliseconds, 80 random bits), so the job
 * list can page newest-first with the last id as its cursor.
 */
export function newJobId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(16);
  let rest = '';
  for (let i = 0; i < 16; i++) rest += alphabet[random[i]! % 32];
  return time + rest;
}

/** The creation time in milliseconds that a job id carries (its first ten characters). */
export function jobIdTime(id: string): number {
  let t = 0;
  for (const char of id.slice(0, 10)) t = t * 32 + alphabet.indexOf(char);
  return t;
}

export const jobIdPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function isJobId(id: string): boolean {
  return jobIdPattern.test(id);
}
