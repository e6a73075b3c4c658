import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import pg from 'pg';

/** CPU seconds (user + system) of a process from /proc, or null when it is gone or unreadable. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime), counted from the state (field 3) here; clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

function rabbitPid(): number | null {
  try {
    return Number(readFileSync('/var/lib/rabbitmq/mnesia/rabbit@localhost.pid', 'utf8').trim()) || null;
  } catch {
    return pidsNamed('beam.smp')[0] ?? null;
  }
}

interface Timing {
  count: number;
  totalMs: number;
}

interface Snapshot {
  at: number;
  node: NodeJS.CpuUsage;
  backends: Map<number, number>;
  allPostgres: number;
  rabbit: number | null;
  wal: { records: number; bytes: number; writes: number; syncs: number };
  commits: number;
}

/**
 * Where a warren drain's time goes, for the bench's notes (`WARREN_BENCH_PROFILE=1`):
 * each statement sent by the side's pool timed on the client (call → result, by prepared
 * statement name or text), and over the drain the CPU of this process, of the pool's
 * Postgres backends (found by application_name), of every postgres process (the machine's
 * other tenants too) and of the RabbitMQ node, plus WAL records and commits
 * (`pg_stat_wal`, `pg_stat_database`: server-wide). With `cpuProfileDir`, a V8 CPU profile
 * of exactly that window (what `node --cpu-prof` records, without the seeding and
 * clean-up around it) is written there; `bench/cpu-profile-summary.ts` sums it up.
 */
export class DrainProfiler {
  readonly #appName: string;
  readonly #timings = new Map<string, Timing>();
  #unwatch: (() => void) | null = null;
  #start: Snapshot | null = null;
  readonly #cpuProfileDir: string | undefined;
  #session: Session | null = null;

  constructor(appName: string, cpuProfileDir?: string) {
    this.#appName = appName;
    this.#cpuProfileDir = cpuProfileDir;
  }

  /** Times every statement of clients whose application_name is ours (from now until end()). */
  watch(): void {
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    const timings = this.#timings;
    const appName = this.#appName;
    proto.query = function (this: { connectionParameters?: { application_name?: string } }, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (this.connectionParameters?.application_name !== appName || !(result instanceof Promise)) return result;
      const first = args[0] as string | { name?: string; text?: string };
      const key = typeof first === 'string' ? first : (first.name?.replace(/_[0-9a-f]{12}$/, '') ?? first.text ?? '?');
      const label = key.replace(/\s+/g, ' ').slice(0, 48);
      const t0 = performance.now();
      void result.then(
        () => {
          const t = timings.get(label) ?? { count: 0, totalMs: 0 };
          t.count += 1;
          t.totalMs += performance.now() - t0;
          timings.set(label, t);
        },
        () => undefined,
      );
      return result;
    };
    this.#unwatch = () => (proto.query = original);
  }

  async #snapshot(admin: pg.Pool): Promise<Snapshot> {
    const { rows: pids } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
      this.#appName,
    ]);
    const { rows: wal } = await admin.query<{ r: string; b: string; w: string; s: string; c: string }>(
      `SELECT w.wal_records AS r, w.wal_bytes AS b, w.wal_write AS w, w.wal_sync AS s,
         (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS c
       FROM pg_stat_wal w`,
    );
    const backends = new Map<number, number>();
    for (const { pid } of pids) {
      const s = cpuSeconds(pid);
      if (s !== null) backends.set(pid, s);
    }
    const rabbit = rabbitPid();
    return {
      at: performance.now(),
      node: process.cpuUsage(),
      backends,
      allPostgres: pidsNamed('postgres').reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0),
      rabbit: rabbit === null ? null : cpuSeconds(rabbit),
      wal: { records: Number(wal[0]!.r), bytes: Number(wal[0]!.b), writes: Number(wal[0]!.w), syncs: Number(wal[0]!.s) },
      commits: Number(wal[0]!.c),
    };
  }

  async begin(admin: pg.Pool): Promise<void> {
    this.#timings.clear();
    if (this.#cpuProfileDir !== undefined) {
      this.#session = new Session();
      this.#session.connect();
      await this.#session.post('Profiler.enable');
      await this.#session.post('Profiler.start');
    }
    this.#start = await this.#snapshot(admin);
  }

  /** The notes: per job and as a share of one core over the drain. */
  async end(admin: pg.Pool, jobs: number): Promise<string[]> {
    const end = await this.#snapshot(admin);
    this.#unwatch?.();
    let profileFile: string | null = null;
    if (this.#session !== null) {
      const { profile } = await this.#session.post('Profiler.stop');
      this.#session.disconnect();
      mkdirSync(this.#cpuProfileDir!, { recursive: true });
      profileFile = path.join(this.#cpuProfileDir!, `${this.#appName}.cpuprofile`);
      writeFileSync(profileFile, JSON.stringify(profile));
    }
    const start = this.#start!;
    const wallS = (end.at - start.at) / 1000;
    const nodeS = (end.node.user - start.node.user + end.node.system - start.node.system) / 1e6;
    let backendS = 0;
    for (const [pid, s] of end.backends) backendS += s - (start.backends.get(pid) ?? 0);
    const rabbitS = end.rabbit !== null && start.rabbit !== null ? end.rabbit - start.rabbit : Number.NaN;
    const allPgS = end.allPostgres - start.allPostgres;
    const us = (s: number) => `${((s / jobs) * 1e6).toFixed(0)} µs/job (${(s / wallS).toFixed(2)} core)`;
    const statements = [...this.#timings.entries()]
      .sort((a, b) => b[1].totalMs - a[1].totalMs)
      .map(([k, t]) => `${k}: ${t.count}× ${(t.totalMs / t.count).toFixed(2)} ms`)
      .join('; ');
    const d = (k: keyof Snapshot['wal']) => end.wal[k] - start.wal[k];
    return [
      `profile over ${wallS.toFixed(2)} s (worker start → last success): CPU node ${us(nodeS)}, its Postgres backends ${us(backendS)}, all postgres processes ${us(allPgS)} (other tenants too), RabbitMQ ${us(rabbitS)}`,
      `profile, server-wide: ${(d('records') / jobs).toFixed(1)} WAL records/job, ${(d('bytes') / jobs).toFixed(0)} WAL bytes/job, ${d('writes')} WAL writes, ${d('syncs')} WAL syncs, ${end.commits - start.commits} commits (${((end.commits - start.commits) / jobs).toFixed(3)}/job)`,
      `profile, statements (count × mean client-side ms, by total): ${statements}`,
      ...(profileFile ? [`profile, CPU profile of the drain: ${profileFile}`] : []),
    ];
  }
}
