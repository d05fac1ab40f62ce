/**
 * Label, annotation and taint keys that this system reads and writes on Nodes.
 *
 * Ownership is positive: a node is a burst worker only when it carries the burst
 * label, the managed-by label and the VM annotation written by this system.
 * A missing key never makes a node reapable.
 */

export const DOMAIN = 'burst-workers.io';

/** The seed's burst marker; the key and value can be changed in config (`burst_workers.label`). */
export const DEFAULT_BURST_LABEL_KEY = 'worker-type';
export const DEFAULT_BURST_LABEL_VALUE = 'burst';

/** Ownership label: written only by this system when it labels a node it created. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'burst-workers-mcp';

/** The seed's TTL annotation (hours, as a decimal string). */
export const TTL_ANNOTATION = 'worker-ttl';
/** Absolute expiry, RFC 3339 UTC. The source of truth for the reaper. */
export const EXPIRES_AT_ANNOTATION = `${DOMAIN}/expires-at`;
export const VM_ID_ANNOTATION = `${DOMAIN}/vm-id`;
export const PROVIDER_ANNOTATION = `${DOMAIN}/provider`;
export const CREATED_AT_ANNOTATION = `${DOMAIN}/created-at`;
export const SIZE_LABEL = `${DOMAIN}/size`;
/** Set by a drain while it runs; lets the inventory tell "draining" from a manual cordon. */
export const DRAIN_STARTED_ANNOTATION = `${DOMAIN}/drain-started-at`;
/** Set on nodes that must never be touched, whatever their labels say. */
export const PROTECTED_ANNOTATION = `${DOMAIN}/protected`;

/** Startup taint a burst node registers with; removed once this system has labelled it. */
export const STARTUP_TAINT_KEY = `${DOMAIN}/unregistered`;

/** Tag put on every VM this system creates, so that none can leak past the reaper. */
export const VM_OWNER_TAG = 'burst-workers-mcp';

/** Standard Kubernetes keys used when classifying nodes and pods. */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
