/**
 * The chaos fleet: scheduler and worker processes (test/chaos/child.mjs, the built package)
 * whose every connection goes through TCP proxies this runner owns, so a scenario can cut the
 * broker or PostgreSQL, or hold them down at boot, without touching the shared services.
 * Records every event the children send and every exit, expected (a kill -9 of ours, a
 * SIGTERM answered by exit 0) or not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));

export type Role = 'scheduler' | 'worker';

export interface FleetOptions {
  databaseUrl: string;
  /** One URL, or the nodes of a cluster (the processes get the list, each through its own proxy). */
  amqpUrls: string[];
  schema: string;
  scope: string;
  /** Prefix of every child's `application_name` (what the Postgres bursts terminate). */
  applicationName: string;
  /** Extra options for createScheduler/createWorker in the children (e.g. `{ pgbouncer: true }`). */
  childOptions?: Record<string, unknown>;
  /** Start with the database / broker proxies refusing connections (boot-order scenarios). */
  databaseDown?: boolean;
  brokerDown?: boolean;
  /** Children write `debug('warren:*')` to stderr, kept (the last 256 KB each) for {@link Fleet.writeLogs}. */
  debug?: boolean;
}

export interface ChildEvent {
  ev: string;
  at: number;
  instanceId: string;
  role: Role;
  [key: string]: unknown;
}

export interface ExitRecord {
  instanceId: string;
  role: Role;
  pid: number;
  code: number | null;
  signal: string | null;
  at: number;
  /** A kill -9 of the runner's, or exit 0 after the runner's SIGTERM. */
  expected: boolean;
  why: string;
  stderr: string;
}

export interface FleetChild {
  readonly instanceId: string;
  readonly role: Role;
  readonly process: ChildProcess;
  readonly alive: boolean;
}

interface ChildState extends FleetChild {
  killing: boolean;
  stopping: boolean;
  stderr: string;
  exited: Promise<void>;
}

export class Fleet {
  readonly events: ChildEvent[] = [];
  readonly exits: ExitRecord[] = [];
  readonly #children: ChildState[] = [];
  readonly #replies = new Map<number, (results: unknown[]) => void>();
  #commandId = 0;
  #counter = 0;

  private constructor(
    readonly options: FleetOptions,
    readonly database: TcpProxy,
    readonly brokers: TcpProxy[],
  ) {}

  static async start(options: FleetOptions): Promise<Fleet> {
    const db = new URL(options.databaseUrl);
    const database = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) }, { paused: options.databaseDown ?? false });
    const brokers: TcpProxy[] = [];
    for (const url of options.amqpUrls) {
      const u = new URL(url);
      brokers.push(await startTcpProxy({ host: u.hostname, port: Number(u.port || 5672) }, { paused: options.brokerDown ?? false }));
    }
    return new Fleet(options, database, brokers);
  }

  get children(): FleetChild[] {
    return this.#children.filter((c) => c.alive);
  }

  live(role: Role): FleetChild[] {
    return this.children.filter((c) => c.role === role);
  }

  spawn(role: Role): FleetChild {
    const instanceId = `${role}-${++this.#counter}`;
    const config = {
      role,
      instanceId,
      databaseUrl: this.database.url(this.options.databaseUrl),
      amqpUrls: this.options.amqpUrls.map((url, i) => this.brokers[i]!.url(url)),
      schema: this.options.schema,
      scope: this.options.scope,
      applicationName: `${this.options.applicationName}-${instanceId}`.slice(0, 63),
      options: this.options.childOptions ?? {},
    };
    const proc = spawn(process.execPath, [CHILD, JSON.stringify(config)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, DEBUG: this.options.debug ? 'warren:*' : '' },
    });
    const state: ChildState = {
      instanceId,
      role,
      process: proc,
      get alive() {
        return proc.exitCode === null && proc.signalCode === null;
      },
      killing: false,
      stopping: false,
      stderr: '',
      exited: new Promise((resolve) => proc.once('exit', () => resolve())),
    };
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      state.stderr += chunk;
      if (state.stderr.length > 512_000) state.stderr = state.stderr.slice(-256_000);
    });
    proc.on('message', (message: { ev: string; at: number; id?: number; results?: unknown[] }) => {
      if (message.ev === 'reply' && message.id !== undefined) {
        this.#replies.get(message.id)?.(message.results ?? []);
        this.#replies.delete(message.id);
        return;
      }
      this.events.push({ ...message, instanceId, role });
    });
    proc.once('exit', (code, signal) => {
      const killed = state.killing && signal === 'SIGKILL';
      const stopped = state.stopping && code === 0;
      this.exits.push({
        instanceId,
        role,
        pid: proc.pid ?? -1,
        code,
        signal,
        at: Date.now(),
        expected: killed || stopped,
        why: killed ? 'kill -9 (scenario)' : stopped ? 'stopped (SIGTERM, exit 0)' : state.stopping ? 'SIGTERM but not exit 0' : 'crashed',
        stderr: state.stderr.slice(-3000),
      });
    });
    this.#children.push(state);
    return state;
  }

  #state(child: FleetChild): ChildState {
    const state = this.#children.find((c) => c === child);
    if (!state) throw new Error(`not a child of this fleet: ${child.instanceId}`);
    return state;
  }

  /** Waits for an event (from `since`, a time in ms) that the predicate accepts. */
  async event(predicate: (e: ChildEvent) => boolean, what: string, timeoutMs = 60_000, since = 0): Promise<ChildEvent> {
    return waitFor(() => this.events.find((e) => e.at >= since && predicate(e)), what, { timeoutMs, intervalMs: 10 });
  }

  async ready(child: FleetChild, timeoutMs = 90_000): Promise<void> {
    await waitFor(
      () => {
        const state = this.#state(child);
        if (!state.alive) throw new Error(`${child.instanceId} exited before ready: ${state.stderr.slice(-800)}`);
        return this.events.some((e) => e.instanceId === child.instanceId && e.ev === 'ready');
      },
      `${child.instanceId} ready`,
      { timeoutMs, intervalMs: 20 },
    );
  }

  /** SIGKILL; resolves once the process is gone (its sockets closed by the kernel). Returns the kill instant. */
  async kill9(child: FleetChild): Promise<number> {
    const state = this.#state(child);
    state.killing = true;
    const at = Date.now();
    if (state.alive) state.process.kill('SIGKILL');
    await state.exited;
    return at;
  }

  /** SIGTERM and wait for exit 0; a process that does not stop within `timeoutMs` is killed and recorded as not stopping. */
  async stop(child: FleetChild, timeoutMs = 60_000): Promise<void> {
    const state = this.#state(child);
    if (!state.alive) return;
    state.stopping = true;
    state.process.kill('SIGTERM');
    const timer = setTimeout(() => state.process.kill('SIGKILL'), timeoutMs);
    await state.exited;
    clearTimeout(timer);
  }

  /** Sends a command to a scheduler child and waits for its reply. */
  async command(child: FleetChild, command: Record<string, unknown>, timeoutMs = 120_000): Promise<unknown[]> {
    const id = ++this.#commandId;
    const reply = new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#replies.delete(id);
        reject(new Error(`${child.instanceId} did not answer ${JSON.stringify(command)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#replies.set(id, (results) => {
        clearTimeout(timer);
        resolve(results);
      });
    });
    this.#state(child).process.send({ ...command, id });
    return reply;
  }

  /** Broker unreachable: live connections cut, new ones refused. */
  cutBroker(): void {
    for (const proxy of this.brokers) {
      proxy.pause();
      proxy.cutAll();
    }
  }

  restoreBroker(): void {
    for (const proxy of this.brokers) proxy.resume();
  }

  cutDatabase(): void {
    this.database.pause();
    this.database.cutAll();
  }

  restoreDatabase(): void {
    this.database.resume();
  }

  /** Stops every live child (SIGTERM, in parallel), then closes the proxies. */
  async close(): Promise<void> {
    await Promise.all(this.children.map((c) => this.stop(c)));
    await this.database.close();
    for (const proxy of this.brokers) await proxy.close();
  }

  /** Writes each child's stderr (its debug log, a crash's stack) to `dir/<instance>.log`. */
  writeLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const c of this.#children) writeFileSync(path.join(dir, `${c.instanceId}.log`), c.stderr);
    const events = this.events.map((e) => JSON.stringify(e)).join('\n');
    writeFileSync(path.join(dir, 'events.jsonl'), `${events}\n`);
  }

  /** Last resort (a runner failing): no child outlives the run. */
  killAll(): void {
    for (const c of this.#children) {
      if (!c.alive) continue;
      c.killing = true;
      c.process.kill('SIGKILL');
    }
  }
}
