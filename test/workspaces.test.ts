import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../', import.meta.url).pathname;
const WORKSPACES = ['libs', 'apps'].flatMap((dir) => readdirSync(join(ROOT, dir)).map((name) => join(dir, name)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs|js)$/.test(name) ? [path] : [];
  });
}

/** Every module a file imports: static, `export … from`, and dynamic `import('…')`. */
function imports(text: string): string[] {
  return [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s*'([^']+)'/g,
    ),
  ].map((m) => m[1] ?? m[2] ?? m[3]);
}

const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

describe('workspace boundaries', () => {
  it.each(WORKSPACES)(
    '%s declares every package its code imports, and reaches other workspaces only through them',
    (ws) => {
      const pkg = JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8'));
      const problems: string[] = [];
      for (const dir of ['src', 'bin']) {
        // a bin may also use a devDependency: tsx runs the sources when the checkout has no build
        // third-party packages are peer dependencies: the root package installs them, and packing
        // the root bundles only the workspaces themselves
        const declared = new Set(
          Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...(dir === 'bin' ? pkg.devDependencies : {}) }),
        );
        let files: string[];
        try {
          files = sourceFiles(join(ROOT, ws, dir));
        } catch {
          continue;
        }
        for (const file of files) {
          for (const spec of imports(readFileSync(file, 'utf8'))) {
            const where = relative(ROOT, file);
            if (spec.startsWith('.')) {
              const target = relative(join(ROOT, ws), resolve(file, '..', spec));
              if (target.startsWith('..')) problems.push(`${where}: relative import ${spec} leaves ${ws}`);
            } else if (!spec.startsWith('node:') && !declared.has(packageOf(spec)) && packageOf(spec) !== pkg.name) {
              problems.push(`${where}: imports ${packageOf(spec)}, not in ${ws}/package.json dependencies`);
            }
          }
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it('keeps the layering: nn and errors import no workspace, protocol only errors, data no train or cluster', () => {
    const deps = (ws: string) =>
      Object.keys(JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8')).dependencies ?? {}).filter((d) =>
        d.startsWith('@redgrad/'),
      );
    expect(deps('libs/errors')).toEqual([]);
    expect(deps('libs/nn')).toEqual([]);
    expect(deps('libs/protocol')).toEqual(['@redgrad/errors']);
    expect(deps('libs/data')).toEqual(['@redgrad/errors', '@redgrad/nn']);
    expect(deps('libs/train')).not.toContain('@redgrad/cluster');
    expect(deps('libs/train')).not.toContain('@redgrad/protocol');
  });
});
