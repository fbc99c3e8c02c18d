/** How numbers, times and dates read on the page (MATLAB's verbose table for training values). */

/** 75 → "1:15", 3725 → "1:02:05". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

/** Seconds between two ISO times; up to `now` while the second is missing. */
export function secondsBetween(start: string, end: string | null, now = Date.now()): number {
  return ((end ? Date.parse(end) : now) - Date.parse(start)) / 1000;
}

/** A fraction as MATLAB's table shows accuracy: 0.8125 → "81.25%". */
export function percent(fraction: number | undefined | null, digits = 2): string {
  return fraction === undefined || fraction === null ? '' : `${(100 * fraction).toFixed(digits)}%`;
}

export function loss(value: number | undefined | null): string {
  return value === undefined || value === null ? '' : value.toFixed(4);
}

export function learnRate(value: number): string {
  return value.toPrecision(4);
}

export function dateTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '';
}

/** 1536 → "1.5 kB". */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
