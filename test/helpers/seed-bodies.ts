/**
 * The job-registration bodies of the seed design (§10), verbatim: what its operators POST
 * to the scheduler of each scope. Tests post them as they are, so a mapping change that
 * breaks one shows up here.
 */

/** §10.1: the `real` scheduler's jobs. */
export const REAL_BODIES = [
  {
    job_id: 'buy-scanner',
    queue: 'real.jobs.buy-scanner',
    cron_expr: '*/5 * * * *',
    reschedule_mode: 'queue',
    interval_seconds: 300,
    description: 'Buy Scanner auto cycle',
    enabled: true,
  },
  {
    job_id: 'news-crawler',
    queue: 'real.jobs.news-crawler',
    cron_expr: '*/10 * * * *',
    reschedule_mode: 'queue',
    interval_seconds: 600,
    description: 'Real news crawler auto',
    enabled: true,
  },
  {
    job_id: 'price-monitor-start',
    queue: 'real.jobs.price-monitor',
    cron_expr: '0 9 * * 1-5',
    reschedule_mode: 'queue',
    default_params: { action: 'start', interval_seconds: 86400 },
    enabled: true,
  },
  {
    job_id: 'price-monitor-stop',
    queue: 'real.jobs.price-monitor',
    cron_expr: '30 15 * * 1-5',
    reschedule_mode: 'queue',
    default_params: { action: 'stop', interval_seconds: 86400 },
    enabled: true,
  },
  {
    job_id: 'scout-daily',
    queue: 'real.jobs.scout',
    cron_expr: '0 8 * * 1-5',
    reschedule_mode: 'queue',
    interval_seconds: 86400,
    description: 'Scout daily run',
    enabled: true,
  },
] as const;

/** §10.2: the `mock` scheduler's jobs. */
export const MOCK_BODIES = [
  {
    job_id: 'mock-buy-scanner',
    queue: 'mock.jobs.buy-scanner',
    cron_expr: '*/5 * * * *',
    reschedule_mode: 'queue',
    interval_seconds: 120,
    description: 'Mock buy scanner auto',
    enabled: true,
  },
  {
    job_id: 'mock-news',
    queue: 'mock.jobs.news-crawler',
    cron_expr: '*/10 * * * *',
    reschedule_mode: 'queue',
    interval_seconds: 600,
    enabled: true,
  },
  {
    job_id: 'mock-price-start',
    queue: 'mock.jobs.price-monitor',
    cron_expr: '0 0 * * *',
    reschedule_mode: 'queue',
    default_params: { action: 'start', interval_seconds: 86400 },
    enabled: true,
  },
  {
    job_id: 'mock-price-stop',
    queue: 'mock.jobs.price-monitor',
    cron_expr: '0 1 * * *',
    reschedule_mode: 'queue',
    default_params: { action: 'stop', interval_seconds: 86400 },
    enabled: true,
  },
  {
    job_id: 'mock-scout',
    queue: 'mock.jobs.scout',
    cron_expr: '0 9 * * 1-5',
    reschedule_mode: 'queue',
    interval_seconds: 86400,
    description: 'Mock scout job',
    enabled: true,
  },
] as const;

export type SeedBody = (typeof REAL_BODIES)[number] | (typeof MOCK_BODIES)[number];
