import { controlContract } from '../contract/control-contract.js';
import { realScheduler } from '../contract/control-fixtures.js';

controlContract('Scheduler (in process, PostgreSQL + RabbitMQ)', async () => {
  const real = await realScheduler('ctl_inproc');
  return { control: real.scheduler, scope: real.scope, now: () => new Date(), close: () => real.close() };
});
