/**
 * The opening of every fenced status-change script (jobs' and datasets'): reads the record's status
 * and attempt into `current` and `attempt`, starts a new attempt on 'take', refuses a write whose
 * attempt is no longer the latest ({'fenced', current}) and a change from a status not listed
 * ({'refused', current}); a missing record answers {'missing'}. KEYS[1] is the record's hash.
 *
 * `fence` and `allowed` name the script's ARGV slots: the fence ('' none, 'take', or the attempt
 * that must hold) and the comma-separated statuses the change may come from.
 */
export function statusGuard(slots: { fence: string; allowed: string }): string {
  return `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing'} end
local attempt = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if ${slots.fence} == 'take' then
  attempt = attempt + 1
elseif ${slots.fence} ~= '' and tonumber(${slots.fence}) ~= attempt then
  return {'fenced', current}
end
local allowed = false
for s in string.gmatch(${slots.allowed}, '[^,]+') do if s == current then allowed = true end end
if not allowed then return {'refused', current} end
`;
}
