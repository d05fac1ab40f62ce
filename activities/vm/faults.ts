/** Fault injection helpers shared by the sandbox provider, the Proxmox simulator and the MCP fixture. */

/** A source of uniform numbers in [0, 1); injectable so tests can replay a fault sequence. */
export type Random = () => number;

/** mulberry32: small, fast, good enough to decide fault injection reproducibly. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `seed` 0 (or absent) means Math.random. */
export function randomFor(seed: number | undefined): Random {
  return seed ? seededRandom(seed) : Math.random;
}

export function chance(random: Random, rate: number): boolean {
  return rate > 0 && random() < rate;
}
