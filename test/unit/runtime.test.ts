import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };

function atLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

describe('runtime', () => {
  it('runs on the Node.js that package.json requires (bootstrap provides it when the system is older)', () => {
    const min = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    expect(min).toBe('22.19.0');
    expect(atLeast(process.versions.node, min!)).toBe(true);
  });

  it('pins Node.js 24 LTS in .nvmrc and in the bootstrap', () => {
    expect(readFileSync(new URL('.nvmrc', root), 'utf8').trim()).toBe('24');
    const env = readFileSync(new URL('sandbox/env.sh', root), 'utf8');
    expect(env).toMatch(/NODE_VERSION_PINNED="24\.\d+\.\d+"/);
    expect(env).toContain(`NODE_MIN_VERSION="22.19.0"`);
  });
});
