import { createAdminClient, createAdminHandler } from '../../src/http/index.js';
import { controlContract } from '../contract/control-contract.js';
import { realScheduler } from '../contract/control-fixtures.js';
import { listen } from '../helpers/listen.js';

const TOKEN = 'contract-token-0123456789';

controlContract('createAdminClient → createAdminHandler on loopback → Scheduler (PostgreSQL + RabbitMQ)', async () => {
  const real = await realScheduler('ctl_client');
  const server = await listen(createAdminHandler({ control: real.scheduler, token: TOKEN, basePath: '/admin' }));
  const client = createAdminClient({ url: `${server.url}/admin`, token: TOKEN });
  return {
    control: client,
    scope: real.scope,
    now: () => new Date(),
    async close() {
      await client.close();
      await server.close();
      await real.close();
    },
  };
});
