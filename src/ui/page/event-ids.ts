/**
 * Event ids are Redis stream ids, "<milliseconds>-<sequence>", increasing along a job's history.
 * Compared as numbers (not strings: "9-0" comes before "10-0"), they let a client that resumes
 * with `since` drop anything it has already seen.
 */
export function isAfter(id: string, last: string | undefined): boolean {
  if (last === undefined) return true;
  const [a, b] = [parse(id), parse(last)];
  return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1];
}

function parse(id: string): [bigint, bigint] {
  const [ms = '0', seq = '0'] = id.split('-');
  return [BigInt(ms), BigInt(seq)];
}
