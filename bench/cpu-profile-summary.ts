/**
 * Sums a V8 CPU profile (`.cpuprofile`, from `node --cpu-prof` or WARREN_BENCH_CPUPROF)
 * by where the code lives: warren's src/, amqplib, pg, zod, Node's own, GC, idle.
 *
 *   npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [top N functions, default 25]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(topArg ?? 25);

function area({ functionName, url }: CallFrame): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return '(program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg !== undefined) return pkg.startsWith('pg') ? 'pg (pg, pg-protocol, pg-types)' : pkg;
  if (/\/src\//.test(url)) return 'warren src/';
  if (/\/bench\//.test(url)) return 'the bench itself';
  return 'Node.js and native (sockets, promises, timers)';
}

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, us] of self) {
  const frame = nodes.get(id)!.callFrame;
  const a = area(frame);
  byArea.set(a, (byArea.get(a) ?? 0) + us);
  const key = `${a} · ${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-1)[0]}:${frame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
const busy = total - (byArea.get('idle') ?? 0);
const line = (label: string, us: number) =>
  `${label.slice(0, 70).padEnd(70)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${((100 * us) / total).toFixed(1).padStart(5)} % of wall  ${((100 * us) / busy).toFixed(1).padStart(5)} % of busy`;
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy`);
for (const [a, us] of [...byArea.entries()].sort((x, y) => y[1] - x[1])) console.log(line(a, us));
console.log('');
for (const [f, us] of [...byFunction.entries()].sort((x, y) => y[1] - x[1]).slice(0, top))
  console.log(line(f.replace(/^Node.js and native \(sockets, promises, timers\)/, 'node'), us));
