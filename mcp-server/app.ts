/** Builds the production dependencies from a config (Kubernetes, Temporal, audit, limits). */
import type { Config } from '../core/config.js';
import { createAuditLog } from './audit.js';
import { createConfirmationTokens } from './confirmation.js';
import type { ServerDeps } from './deps.js';
import { createKubeInventory } from './inventory.js';
import { createTemporalOperations } from './operations.js';
import { createProvisionLimiter } from './rate-limit.js';

/** Env var with the HMAC secret of confirmation tokens; a random one per process otherwise. */
export const CONFIRMATION_SECRET_ENV = 'MCP_CONFIRMATION_SECRET';

export function buildDeps(
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  transportName: 'stdio' | 'http',
): ServerDeps & { close(): Promise<void> } {
  const inventory = createKubeInventory(config);
  const operations = createTemporalOperations(config);
  const limiter = createProvisionLimiter(config.burst_workers, {
    async activeBurstWorkers() {
      const [nodes, runs] = await Promise.all([
        inventory.listWorkers('burst'),
        operations.liveBurstWorkers(),
      ]);
      return [...nodes.map((n) => n.name), ...runs];
    },
    startsSince: (since) => operations.burstWorkerStartsSince(since),
    async reservedNames(operationId) {
      const status = await operations.provisionStatus(operationId);
      return status?.workers?.length ? status.workers.map((w) => w.name) : null;
    },
  });
  return {
    config,
    inventory,
    operations,
    limiter,
    audit: createAuditLog(config.logging.audit_file, { stdoutIsProtocol: transportName === 'stdio' }),
    confirmations: createConfirmationTokens({
      secret: env[CONFIRMATION_SECRET_ENV],
      ttlSeconds: config.safety.confirmation_ttl_seconds,
    }),
    transportName,
    close: () => operations.close(),
  };
}
