/**
 * Time-zone offsets through Intl (the tz database Node ships), and the offset transitions
 * (DST changes) that schedule.ts maps wall times across.
 *
 * Finding a transition probes day by day, one `formatToParts` per day: a yearly cron walks
 * a year (365 probes) for each slot, and `defineJob` walks four for its typical period. With
 * 10,000 jobs that was minutes of CPU (issue #10), so each zone keeps the transitions it has
 * found and the span it has searched, and a later question inside that span is a binary
 * search.
 */

const SECOND = 1_000;
const DAY = 86_400_000;
/** A question this far outside a zone's searched span is answered without widening it. */
const MAX_EXTENSION_MS = 400 * DAY;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Local time minus UTC at `instant`, in ms (constant within a second). */
export function tzOffsetMs(tz: string, instant: number): number {
  const whole = Math.floor(instant / SECOND) * SECOND;
  const parts = formatter(tz).formatToParts(new Date(whole));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  let year = get('year');
  if (parts.find((p) => p.type === 'era')?.value === 'BC') year = 1 - year;
  const wall = Date.UTC(year, get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - whole;
}

/**
 * The first instant in (from, to] where the offset differs from the one at `from`, or
 * null. Probes day by day: two transitions within one day do not happen in the tz database.
 */
function probeTransition(tz: string, from: number, to: number): number | null {
  const offset = tzOffsetMs(tz, from);
  let lo = from;
  while (lo < to) {
    const hi = Math.min(lo + DAY, to);
    if (tzOffsetMs(tz, hi) !== offset) {
      // Transitions fall on whole seconds: bisect in seconds.
      let a = Math.floor(lo / SECOND);
      let b = Math.floor(hi / SECOND);
      if (tzOffsetMs(tz, a * SECOND) !== offset) return Math.max(lo, a * SECOND);
      while (b - a > 1) {
        const mid = Math.floor((a + b) / 2);
        if (tzOffsetMs(tz, mid * SECOND) === offset) a = mid;
        else b = mid;
      }
      return b * SECOND;
    }
    lo = hi;
  }
  return null;
}

/** Every transition in (from, to], in order. */
function scanTransitions(tz: string, from: number, to: number): number[] {
  const found: number[] = [];
  for (let cursor = from; ;) {
    const t = probeTransition(tz, cursor, to);
    if (t === null) return found;
    found.push(t);
    cursor = t;
  }
}

/** Per zone: every transition in (from, to], in order. */
interface Searched {
  from: number;
  to: number;
  transitions: number[];
}

const searched = new Map<string, Searched>();

/**
 * The first instant in (from, to] where the offset differs from the one at `from`, or
 * null: the first transition after `from`, since the offset only changes at one.
 */
export function nextTransition(tz: string, from: number, to: number): number | null {
  if (!(to > from)) return null;
  let s = searched.get(tz);
  if (s === undefined) {
    s = { from, to, transitions: scanTransitions(tz, from, to) };
    searched.set(tz, s);
  }
  if (from < s.from - MAX_EXTENSION_MS || to > s.to + MAX_EXTENSION_MS) return probeTransition(tz, from, to);
  if (from < s.from) {
    s.transitions = [...scanTransitions(tz, from, s.from), ...s.transitions];
    s.from = from;
  }
  if (to > s.to) {
    s.transitions.push(...scanTransitions(tz, s.to, to));
    s.to = to;
  }
  // The first transition > from (binary search), if it is <= to.
  const list = s.transitions;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! > from) hi = mid;
    else lo = mid + 1;
  }
  const t = list[lo];
  return t !== undefined && t <= to ? t : null;
}
