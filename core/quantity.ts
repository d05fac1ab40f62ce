/**
 * Kubernetes resource quantities (`250m`, `1.5`, `128Mi`, `1G`, `1e3`) as numbers.
 * Pure, so inventory sums can be unit tested without a cluster.
 */

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity as a plain number of base units (cores, bytes, pods); null when malformed. */
export function parseQuantity(value: string | number | undefined | null): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  const m = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?\s*$/.exec(
    value,
  );
  if (!m) return null;
  const base = Number(m[1]);
  if (m[3] !== undefined) return base * 10 ** Number(m[3]);
  const suffix = m[2] ?? '';
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  return factor === undefined ? null : base * factor;
}

/** CPU quantity in millicores (rounded up, as the scheduler does); 0 when absent or malformed. */
export function cpuMillis(value: string | number | undefined | null): number {
  const q = parseQuantity(value);
  return q === null ? 0 : Math.ceil(Math.round(q * 1e9) / 1e6);
}

/** Memory quantity in bytes (rounded up); 0 when absent or malformed. */
export function memoryBytes(value: string | number | undefined | null): number {
  const q = parseQuantity(value);
  return q === null ? 0 : Math.ceil(q);
}
