/**
 * The life of one fleet service: read its settings (a missing one exits 2 with what to set),
 * start, and on SIGTERM or SIGINT close everything it opened and exit 0.
 */
import { ConfigError, serviceConfig, type ServiceConfig } from './config.js';
import { createLogger, type ServiceLogger } from './log.js';

export interface ServiceContext extends ServiceConfig {
  name: string;
  log: ServiceLogger;
  env: NodeJS.ProcessEnv;
}

export interface RunningService {
  /** Stops taking work, lets running work finish, releases every connection. */
  close(): Promise<void>;
}

export interface ServiceSpec {
  name: string;
  /** Where this service's port sits after its profile's base port (the scheduler is 0). */
  portOffset: number;
  start(ctx: ServiceContext): Promise<RunningService>;
}

/** Prints a configuration error as the operator should read it and exits 2. */
export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

export async function runService(spec: ServiceSpec, argv = process.argv.slice(2), env = process.env): Promise<void> {
  let config: ServiceConfig;
  try {
    config = serviceConfig(argv, env, spec.portOffset);
  } catch (error) {
    exitOnConfigError(error);
  }
  const log = createLogger({ service: spec.name, scope: config.scope }, env.LOG_LEVEL);
  let starting: Promise<RunningService> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    try {
      // A signal during a slow start waits for it, then closes what it opened.
      const service = await starting;
      await service?.close();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'stop failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  starting = spec.start({ ...config, name: spec.name, log, env });
  try {
    await starting;
  } catch (error) {
    if (error instanceof ConfigError) exitOnConfigError(error);
    log.error({ err: error }, 'start failed');
    process.exit(1);
  }
}
