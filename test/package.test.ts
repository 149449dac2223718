import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../', import.meta.url).pathname;
const manifest = (dir: string) => JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
const WORKSPACES = ['libs', 'apps'].flatMap((dir) => readdirSync(join(ROOT, dir)).map((name) => join(dir, name)));

describe('the redgrad package', () => {
  it('gives every workspace the product version, which `redgrad --version` prints', () => {
    const { version } = manifest('.');
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const ws of WORKSPACES) expect(manifest(ws).version, ws).toBe(version);
  });
});
