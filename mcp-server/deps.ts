/** Everything the tools need, injected by main.ts (or by tests). */
import type { Config } from '../core/config.js';
import type { AuditLog } from './audit.js';
import type { ConfirmationTokens } from './confirmation.js';
import type { Inventory } from './inventory.js';
import type { Operations } from './operations.js';
import type { ProvisionLimiter } from './rate-limit.js';

export interface ServerDeps {
  config: Config;
  inventory: Inventory;
  operations: Operations;
  audit: AuditLog;
  limiter: ProvisionLimiter;
  confirmations: ConfirmationTokens;
  /** Transport name used as the caller identity when no token identifies the caller. */
  transportName: string;
}
