/**
 * Configuration: schema, defaults and a pure parse function (text in, typed config out).
 * Keys follow the seed's `config/worker-config.yaml`; every key has a default so an
 * empty file is a valid config. Errors name the key path and the rule.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ErrorCode, WorkerError } from './errors.js';
import { DEFAULT_BURST_LABEL_KEY, DEFAULT_BURST_LABEL_VALUE } from './labels.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const rate = z.number().min(0).max(1);

function validRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

export const WorkerSizeSchema = z.strictObject({
  cpu: positiveInt.max(512),
  memory_gb: positiveInt.max(4096),
  disk_gb: positiveInt.max(65536),
});
export type WorkerSize = z.infer<typeof WorkerSizeSchema>;

export const DEFAULT_WORKER_SIZES: Record<string, WorkerSize> = {
  small: { cpu: 2, memory_gb: 4, disk_gb: 50 },
  medium: { cpu: 4, memory_gb: 8, disk_gb: 100 },
  large: { cpu: 8, memory_gb: 16, disk_gb: 200 },
};

const sizeName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, 'must be a lowercase DNS label of at most 32 characters');

const KubernetesSchema = z
  .strictObject({
    /** Context in the kubeconfig; env KUBECTL_CONTEXT wins. Empty = current context. */
    context: z.string().default(''),
    /** Path to a kubeconfig; empty = $KUBECONFIG, then ~/.kube/config, then in-cluster. */
    kubeconfig: z.string().default(''),
    /** Namespace of the seed's config (kept for compatibility; nodes are cluster-scoped). */
    namespace: z.string().default('default'),
  })
  .prefault({});

const McpEndpointSchema = z
  .strictObject({
    /** `stdio://command args…` or `http(s)://host/mcp`; empty = not configured. */
    endpoint: z.string().default(''),
    /** Operation → tool name mapping for the `mcp` provider; unset keys use the defaults. */
    tools: z.record(z.string(), z.string()).default({}),
    /** Environment variable holding a bearer token for HTTP endpoints. */
    token_env: z.string().default(''),
  })
  .prefault({});

const McpServersSchema = z
  .strictObject({
    talos: McpEndpointSchema,
    proxmox: McpEndpointSchema,
    /** Which external MCP server the `mcp` provider drives. */
    preferred_provider: z.enum(['proxmox', 'talos']).default('proxmox'),
  })
  .prefault({});

const FaultSchema = z
  .strictObject({
    /** Probability that any provider call fails with a transient error. */
    error_rate: rate.default(0),
    /** Probability that a VM boots but its node never registers. */
    never_join_rate: rate.default(0),
    /** Extra boot latency added to every VM. */
    slow_boot_seconds: z.number().min(0).default(0),
  })
  .prefault({});

const SandboxProviderSchema = z
  .strictObject({
    /** Seconds between VM start and node registration. */
    boot_seconds: z.number().min(0).max(3600).default(2),
    /** Namespace holding one ConfigMap per simulated VM (the state survives worker restarts). */
    namespace: z.string().min(1).default('burst-sandbox-vms'),
    /** Seconds a deleted VM's NotReady node is kept before it is deleted; 0 = never (the reaper removes it). */
    node_gc_seconds: z.number().min(0).max(86400).default(30),
    /** Seconds between two passes of the sandbox hypervisor. */
    poll_seconds: z.number().positive().max(60).default(1),
    /** Seed of the fault-injection randomness; 0 = unseeded. */
    fault_seed: nonNegativeInt.default(0),
    fault: FaultSchema,
  })
  .prefault({});

const ProxmoxSchema = z
  .strictObject({
    /** `https://host:8006/api2/json`. */
    api_url: z.string().default(''),
    /** Proxmox node that holds the template and the clones. */
    node: z.string().default(''),
    template_id: nonNegativeInt.default(0),
    storage: z.string().default(''),
    pool: z.string().default(''),
    /** Inclusive VMID range the provider may use. */
    vmid_min: positiveInt.default(100000),
    vmid_max: positiveInt.default(199999),
    /** Environment variable with the API token `USER@REALM!TOKENID=SECRET`. */
    token_env: z.string().default('PROXMOX_API_TOKEN'),
    /** File with the API token (alternative to token_env). */
    token_file: z.string().default(''),
    verify_tls: z.boolean().default(true),
    ca_file: z.string().default(''),
    /** How the node joins: a Talos worker machine config or a kubeadm join command. */
    join_method: z.enum(['talos', 'kubeadm']).default('talos'),
    /** File holding the join payload template (machine config or cloud-init user data). */
    join_payload_file: z.string().default(''),
    /**
     * cloud-init `cicustom` value pointing at the join payload stored as a snippet, e.g.
     * `user=local:snippets/burst-worker.yaml` (the Proxmox API cannot upload snippets).
     */
    cicustom: z.string().default(''),
    /** cloud-init network config of each clone. */
    ipconfig0: z.string().default('ip=dhcp'),
    /** Disk resized to the worker size. */
    disk: z.string().default('scsi0'),
    full_clone: z.boolean().default(true),
    /** How long one Proxmox task (clone, stop, delete) may run before the call fails (retryable). */
    task_timeout_seconds: positiveInt.default(300),
    /** Per-request HTTP timeout. */
    request_timeout_seconds: positiveInt.default(30),
  })
  .prefault({});

const ProviderSchema = z
  .strictObject({
    type: z.enum(['sandbox', 'proxmox', 'mcp']).default('sandbox'),
    sandbox: SandboxProviderSchema,
    proxmox: ProxmoxSchema,
  })
  .prefault({});

const BurstWorkersSchema = z
  .strictObject({
    /** The seed's burst marker label. */
    label: z
      .strictObject({
        key: z.string().min(1).default(DEFAULT_BURST_LABEL_KEY),
        value: z.string().min(1).default(DEFAULT_BURST_LABEL_VALUE),
      })
      .prefault({}),
    name_prefix: z
      .string()
      .regex(/^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/, 'must be a lowercase DNS label of at most 32 characters')
      .default('burst-worker'),
    max_burst_workers: positiveInt.max(1000).default(20),
    max_workers_per_request: positiveInt.max(100).default(10),
    provisions_per_hour: positiveInt.max(10000).default(30),
    default_ttl_hours: positiveInt.max(168).default(24),
    min_ttl_hours: positiveInt.default(1),
    max_ttl_hours: positiveInt.max(8760).default(168),
    default_size: sizeName.default('medium'),
    cleanup_interval_seconds: positiveInt.min(10).max(86400).default(300),
    /** VM created → VM running. Karpenter's LaunchTimeout. */
    launch_timeout_seconds: positiveInt.default(300),
    /** VM running → node Ready. Karpenter's registration timeout. */
    registration_timeout_seconds: positiveInt.default(900),
    /** An owned VM with no node is reaped only after this grace period. */
    orphan_vm_grace_seconds: positiveInt.default(600),
  })
  .prefault({});

const DrainSchema = z
  .strictObject({
    /** Overall drain deadline; 0 = wait forever (as kubectl's --timeout=0). */
    timeout_seconds: nonNegativeInt.max(86400).default(600),
    /** Pod termination grace period; -1 = the pod's own terminationGracePeriodSeconds. */
    grace_period_seconds: z.number().int().min(-1).max(86400).default(300),
    ignore_daemonsets: z.boolean().default(true),
    delete_emptydir_data: z.boolean().default(true),
    /** Evict pods with no controller (they are not recreated). */
    force: z.boolean().default(false),
    /** Wait after a 429 (a PodDisruptionBudget refused the eviction). */
    eviction_retry_seconds: z.number().min(0).max(600).default(5),
    max_concurrent_evictions: positiveInt.max(1000).default(10),
  })
  .prefault({});

const SafetySchema = z
  .strictObject({
    protected_worker_patterns: z
      .array(z.string().refine(validRegex, 'must be a valid regular expression'))
      .default(['^master-.*', '^control-plane-.*', '^permanent-.*']),
    require_drain_before_destroy: z.boolean().default(true),
    /** Read-only mode: mutating tools are neither listed nor callable. */
    read_only: z.boolean().default(false),
    /** When false, destructive tools (destroy, drain) are neither listed nor callable. */
    allow_destructive: z.boolean().default(true),
    /** Confirmation token lifetime for destructive calls without elicitation. */
    confirmation_ttl_seconds: positiveInt.max(3600).default(120),
  })
  .prefault({});

const LoggingSchema = z
  .strictObject({
    level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    format: z.enum(['json', 'text']).default('json'),
    /** Audit log of mutating calls: a file path, `stdout`, `stderr`, or empty to disable. */
    audit_file: z.string().default('stderr'),
  })
  .prefault({});

const MonitoringSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Prometheus metrics of the worker process. */
    prometheus_bind_address: z.string().default('127.0.0.1:9464'),
  })
  .prefault({});

const TemporalSchema = z
  .strictObject({
    address: z.string().min(1).default('127.0.0.1:7233'),
    namespace: z.string().min(1).default('default'),
    task_queue: z.string().min(1).default('burst-workers'),
    /** Base URL used to build links to runs in the Temporal UI. */
    ui_url: z.string().default('http://127.0.0.1:8233'),
  })
  .prefault({});

const McpServerSchema = z
  .strictObject({
    transport: z.enum(['http', 'stdio']).default('http'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8765),
    /** Environment variable holding the bearer token; required when host is not loopback. */
    auth_token_env: z.string().default('MCP_AUTH_TOKEN'),
    /** Origins allowed in addition to loopback ones. */
    allowed_origins: z.array(z.string()).default([]),
  })
  .prefault({});

export const ConfigSchema = z
  .strictObject({
    kubernetes: KubernetesSchema,
    mcp_servers: McpServersSchema,
    provider: ProviderSchema,
    worker_sizes: z.record(sizeName, WorkerSizeSchema).default(DEFAULT_WORKER_SIZES),
    burst_workers: BurstWorkersSchema,
    drain: DrainSchema,
    safety: SafetySchema,
    logging: LoggingSchema,
    monitoring: MonitoringSchema,
    temporal: TemporalSchema,
    mcp: McpServerSchema,
  })
  .superRefine((cfg, ctx) => {
    if (cfg.burst_workers.min_ttl_hours > cfg.burst_workers.max_ttl_hours) {
      ctx.addIssue({
        code: 'custom',
        path: ['burst_workers', 'min_ttl_hours'],
        message: 'must not exceed burst_workers.max_ttl_hours',
      });
    }
    if (!(cfg.burst_workers.default_size in cfg.worker_sizes)) {
      ctx.addIssue({
        code: 'custom',
        path: ['burst_workers', 'default_size'],
        message: `must be one of the worker_sizes (${Object.keys(cfg.worker_sizes).join(', ')})`,
      });
    }
    if (cfg.provider.proxmox.vmid_min > cfg.provider.proxmox.vmid_max) {
      ctx.addIssue({
        code: 'custom',
        path: ['provider', 'proxmox', 'vmid_min'],
        message: 'must not exceed provider.proxmox.vmid_max',
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

/** Environment variables that override config keys (documented in the README). */
export const ENV_OVERRIDES = {
  KUBECTL_CONTEXT: ['kubernetes', 'context'],
  KUBECONFIG_PATH: ['kubernetes', 'kubeconfig'],
  TALOS_MCP_ENDPOINT: ['mcp_servers', 'talos', 'endpoint'],
  PROXMOX_MCP_ENDPOINT: ['mcp_servers', 'proxmox', 'endpoint'],
  TEMPORAL_ADDRESS: ['temporal', 'address'],
  TEMPORAL_NAMESPACE: ['temporal', 'namespace'],
  TEMPORAL_TASK_QUEUE: ['temporal', 'task_queue'],
  VM_PROVIDER: ['provider', 'type'],
  MCP_HOST: ['mcp', 'host'],
  MCP_PORT: ['mcp', 'port'],
} as const satisfies Record<string, readonly string[]>;

const NUMERIC_OVERRIDES = new Set<string>(['MCP_PORT']);

/** Renders a zod issue path the way it appears in the YAML file: `drain.timeout_seconds`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** Turns zod issues into one readable message naming each key path and its rule. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = ''): string {
  return issues
    .map((issue) => {
      const path = formatPath(issue.path);
      const where = [root, path].filter(Boolean).join('.') || '(root)';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) {
      node[key] = {};
    } else if (typeof next !== 'object' || Array.isArray(next)) {
      return; // the schema reports the wrong type at this key
    }
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/**
 * Parses configuration text (YAML or JSON) and applies environment overrides.
 * Pure: the caller reads the file and passes the environment.
 * @throws WorkerError(ConfigInvalid) naming `<source>: <key.path>: <rule>`.
 */
export function parseConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>> = {},
  source = 'config',
): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new WorkerError(ErrorCode.ConfigInvalid, `${source}: invalid YAML: ${first.message}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new WorkerError(ErrorCode.ConfigInvalid, `${source}: (root): must be a mapping of sections`);
  }
  const data = structuredClone(raw) as Record<string, unknown>;
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (NUMERIC_OVERRIDES.has(name)) {
      const n = Number(value);
      if (!Number.isInteger(n)) {
        throw new WorkerError(
          ErrorCode.ConfigInvalid,
          `${name} (overrides ${path.join('.')}): must be an integer, got "${value}"`,
        );
      }
      setPath(data, path, n);
    } else {
      setPath(data, path, value);
    }
  }
  const result = ConfigSchema.safeParse(data);
  if (!result.success) {
    throw new WorkerError(ErrorCode.ConfigInvalid, `${source}: ${formatIssues(result.error.issues)}`, {
      issues: result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
    });
  }
  return result.data;
}

/** The configuration with every default, as used when no file is given. */
export function defaultConfig(): Config {
  return parseConfig('');
}
