/**
 * A throwaway RabbitMQ cluster on this machine: N nodes (test/helpers/rabbit-node.ts: each
 * on its own AMQP and distribution ports, its own mnesia and log directories owned by the
 * `rabbitmq` user, the `rabbitmq` user's Erlang cookie shared by all), nodes 2..N joined to
 * node 1. The shared broker on 5672 is never touched.
 */
import { startRabbitNode, type RabbitNode } from '../../test/helpers/rabbit-node.js';

export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** One AMQP URL per node, in node order. */
  readonly urls: readonly string[];
  /** `rabbitmqctl cluster_status` as seen from a running node. */
  runningNodes(): Promise<string[]>;
  /** name → leader node and member nodes of every quorum queue whose name starts with `prefix`. */
  quorumQueues(prefix: string): Promise<Map<string, { leader: string; members: string[] }>>;
  /** Stops every node and deletes their data. */
  destroy(): Promise<void>;
}

export async function startRabbitCluster(token: string, size = 3, log: (line: string) => void = () => {}): Promise<RabbitCluster> {
  const nodes: RabbitNode[] = [];
  const cluster: RabbitCluster = {
    nodes,
    get urls() {
      return nodes.map((n) => n.url);
    },
    async runningNodes() {
      const out = await running().ctl('cluster_status', '--formatter', 'json');
      return (JSON.parse(out) as { running_nodes: string[] }).running_nodes.sort();
    },
    async quorumQueues(prefix) {
      // 3.10: `leader` and `members` are list_queues info items of quorum queues.
      const out = await running().ctl('-q', 'list_queues', 'name', 'type', 'leader', 'members', '--formatter', 'json');
      const rows = JSON.parse(out) as Array<{ name: string; type: string; leader: string; members: string[] }>;
      const queues = new Map<string, { leader: string; members: string[] }>();
      for (const row of rows) {
        if (row.type === 'quorum' && row.name.startsWith(prefix))
          queues.set(row.name, { leader: row.leader, members: [...row.members].sort() });
      }
      return queues;
    },
    async destroy() {
      // Stopped one at a time, each its own OS process and data directory.
      for (const node of [...nodes].reverse()) await node.destroy().catch((err: Error) => log(`destroy ${node.nodename}: ${err.message}`));
    },
  };
  const stopped = new Set<RabbitNode>();
  const running = () => nodes.find((n) => !stopped.has(n)) ?? nodes[0]!;
  // Track stops made through node.stop() so queries go to a live node.
  const track = (node: RabbitNode) => {
    const stop = node.stop.bind(node);
    const start = node.start.bind(node);
    node.stop = async () => {
      stopped.add(node);
      await stop();
    };
    node.start = async () => {
      await start();
      stopped.delete(node);
    };
    return node;
  };
  try {
    for (let i = 1; i <= size; i++) {
      const started = Date.now();
      const node = track(await startRabbitNode(`${token}-${i}`));
      nodes.push(node);
      if (i > 1) {
        await node.ctl('stop_app');
        await node.ctl('reset');
        await node.ctl('join_cluster', nodes[0]!.nodename);
        await node.ctl('start_app');
        await node.ctl('await_startup', '--timeout', '120');
      }
      log(`${node.nodename} on ${node.port} ${i > 1 ? `joined ${nodes[0]!.nodename}` : 'started'} (${Date.now() - started} ms)`);
    }
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
