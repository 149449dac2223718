// What the compose cluster does, read from docker-compose.yml, the Dockerfile and .env.example
// without a Docker engine: which services run what, that workers scale, that nothing starts before
// the service it needs is healthy, that Redis keeps its data, and that every knob is documented.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ComposeFile, ComposeServiceConfig } from './compose-file.js';
import { argv, COMPOSE_FILE, composeServices, REPO_ROOT, readComposeFile } from './compose-file.js';

const repo = (p: string) => join(REPO_ROOT, p);
const readRepo = (p: string) => readFileSync(repo(p), 'utf8');
const OVERRIDE_FILE = 'docker/compose.redis-port.yml';

let doc: ComposeFile;
let services: Record<string, ComposeServiceConfig>;
beforeAll(async () => {
  doc = await readComposeFile();
  services = doc.services;
});

/** The bin a workspace's package.json declares, as a repo-relative path. */
function workspaceBin(dir: string): string {
  const pkg = JSON.parse(readRepo(join(dir, 'package.json'))) as { bin: Record<string, string> };
  const [bin] = Object.values(pkg.bin);
  return join(dir, bin);
}

/** The value after `flag` in an argv, or undefined. */
const option = (args: string[], flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);

const dependencies = (s: ComposeServiceConfig): Record<string, { condition?: string }> =>
  Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {});

/** Host ports a service publishes: any entry naming a host port pins the service to one container. */
const hostPorts = (s: ComposeServiceConfig) =>
  (s.ports ?? []).filter((p) => (typeof p === 'object' ? p.published !== undefined : String(p).includes(':')));

/** REGDRAD_* names the code reads (envInt(env, 'NAME', …) or env.NAME) under a folder. */
function knobsReadIn(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts'))
        for (const m of readFileSync(p, 'utf8').matchAll(/\b(REDGRAD_[A-Z0-9_]+)\b/g)) found.add(m[1]);
    }
  };
  walk(repo(dir));
  return found;
}

describe('docker-compose.yml', () => {
  it('runs redis, a coordinator and workers', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'coordinator', 'worker']));
  });

  it('the coordinator and worker start their own app bin with node', async () => {
    const svc = await composeServices();
    for (const [name, dir] of [
      ['coordinator', 'apps/coordinator'],
      ['worker', 'apps/worker'],
    ]) {
      const [node, script] = svc[name].command;
      expect(node, name).toBe('node');
      expect(script, name).toBe(workspaceBin(dir));
      expect(existsSync(repo(script)), script).toBe(true);
    }
    if (svc.cli) expect(svc.cli.command.slice(0, 2)).toEqual(['node', workspaceBin('apps/cli')]);
  });

  it('workers scale: no container_name and no host port, so `--scale worker=N` can start N', () => {
    const w = services.worker;
    expect(w.container_name).toBeUndefined();
    expect(hostPorts(w)).toEqual([]);
  });

  it('every service another waits on as service_healthy has a healthcheck', () => {
    let waits = 0;
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, how] of Object.entries(dependencies(s))) {
        expect(services[dep], `${name} depends on ${dep}, which is not a service`).toBeDefined();
        if (how.condition !== 'service_healthy') continue;
        waits++;
        const check = services[dep].healthcheck;
        expect(
          check && !check.disable && argv(check.test).length > 0,
          `${dep} (waited on by ${name}) has a healthcheck`,
        ).toBe(true);
      }
    }
    expect(waits).toBeGreaterThan(0);
  });

  it('services that talk to the compose redis wait until it is healthy, and can log in to it', async () => {
    const withPassword = await composeServices({ env: { REDIS_PASSWORD: 'p4ss' } });
    const redisArgs = withPassword.redis.command;
    const password = option(redisArgs, '--requirepass');
    for (const [name, s] of Object.entries(withPassword)) {
      const url = s.environment.REDIS_URL;
      if (!url) continue;
      const parsed = new URL(url);
      if (parsed.hostname !== 'redis') continue;
      expect(dependencies(services[name]).redis?.condition, name).toBe('service_healthy');
      expect(decodeURIComponent(parsed.password), `${name} logs in with the password redis requires`).toBe(
        password ?? '',
      );
    }
  });

  it('redis keeps its data: append-only file in a named volume, and never evicts (BullMQ needs every key)', () => {
    const r = services.redis;
    const args = argv(r.command);
    expect(option(args, '--appendonly')).toBe('yes');
    expect(option(args, '--maxmemory-policy')).toBe('noeviction');
    const dataVolume = (r.volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? '']))
      .find(([, target]) => target === '/data');
    expect(dataVolume, 'a volume mounted at /data').toBeDefined();
    expect(Object.keys(doc.volumes ?? {}), 'the /data volume is a named volume').toContain(dataVolume?.[0]);
  });

  it('step traffic goes to a redis without persistence that coordinator and worker wait for and log in to', async () => {
    const svc = await composeServices({ env: { REDIS_PASSWORD: 'p4ss' } });
    for (const name of ['coordinator', 'worker']) {
      const url = new URL(svc[name].environment.REDGRAD_STEP_REDIS_URL ?? '');
      const steps = svc[url.hostname];
      expect(steps, `${name}'s step Redis is a compose service`).toBeDefined();
      const args = argv(steps.command);
      expect(option(args, '--appendonly'), 'no append-only file').toBe('no');
      expect(option(args, '--save'), 'no snapshots').toBe('');
      expect(option(args, '--maxmemory-policy')).toBe('noeviction');
      expect(decodeURIComponent(url.password)).toBe(option(args, '--requirepass') ?? '');
      expect(dependencies(services[name])[url.hostname]?.condition, name).toBe('service_healthy');
    }
  });

  it('redis is not published to the host unless the override file is added', async () => {
    expect(hostPorts(services.redis)).toEqual([]);
    const override = await readComposeFile({ file: repo(OVERRIDE_FILE), env: { REDIS_PORT: '16379' } });
    const published = (override.services.redis.ports ?? []).map(String);
    expect(published.some((p) => p.startsWith('127.0.0.1:16379:'))).toBe(true);
  });

  it('the CLI and the dashboard start only on request (profiles); anything published binds to loopback', () => {
    for (const name of ['cli', 'dashboard'])
      if (services[name]) expect(services[name].profiles?.length, name).toBeGreaterThan(0);
    for (const [name, s] of Object.entries(services)) {
      for (const p of hostPorts(s)) expect(String(p), `${name} publishes ${p}`).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('every REDGRAD_* variable the coordinator and worker set is one their code reads', async () => {
    const svc = await composeServices();
    for (const name of ['coordinator', 'worker']) {
      const read = new Set([...knobsReadIn(`apps/${name}/src`), ...knobsReadIn('libs')]);
      for (const k of Object.keys(svc[name].environment).filter((k) => k.startsWith('REDGRAD_'))) {
        expect(read.has(k), `${name} sets ${k}, which no code reads`).toBe(true);
      }
    }
  });

  it('every variable the compose files substitute, and every knob the services read, is documented', () => {
    const example = readRepo('.env.example');
    const documentedInExample = new Set([...example.matchAll(/^([A-Za-z_]\w*)=/gm)].map((m) => m[1]));
    for (const file of [COMPOSE_FILE, repo(OVERRIDE_FILE)]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\$\{([A-Za-z_]\w*)/g)) {
        expect(documentedInExample.has(m[1]), `${m[1]} missing from .env.example`).toBe(true);
      }
    }
    const docs = example + readRepo('README.md');
    const read = new Set([
      ...knobsReadIn('apps/coordinator/src'),
      ...knobsReadIn('apps/worker/src'),
      ...knobsReadIn('libs'),
    ]);
    for (const knob of read) expect(docs, `${knob} is documented in .env.example or README.md`).toContain(knob);
  });

  it('the defaults .env.example documents are the ones the compose file uses', async () => {
    const example = readRepo('.env.example');
    const defaults = Object.fromEntries([...example.matchAll(/^([A-Za-z_]\w*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    const plain = await composeServices();
    const fromExample = await composeServices({ env: defaults });
    for (const name of Object.keys(plain)) expect(fromExample[name], name).toEqual(plain[name]);
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readRepo('Dockerfile');
  const stages = dockerfile
    .split(/^(?=FROM\s)/m)
    .slice(1)
    .map((body) => {
      const [, from, name] = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(body) ?? [];
      return { from, name, body };
    });
  /** The user a stage runs as: its last USER, else its base stage's. */
  const userOf = (stage: (typeof stages)[number] | undefined): string | undefined => {
    if (!stage) return undefined;
    const own = [...stage.body.matchAll(/^USER\s+(\S+)$/gm)].map((m) => m[1]).at(-1);
    return own ?? userOf(stages.find((s) => s.name === stage.from));
  };

  it('every build target the compose file names is a stage', () => {
    const names = new Set(stages.map((s) => s.name));
    for (const [name, s] of Object.entries(services)) {
      const target = typeof s.build === 'object' && s.build.context === '.' ? s.build.target : undefined;
      if (target) expect(names.has(target), `${name} builds target ${target}`).toBe(true);
    }
  });

  it('the images install production dependencies only and every service runs as a non-root user', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const targets = new Set([stages.at(-1)?.name]);
    for (const s of Object.values(services))
      if (typeof s.build === 'object' && s.build.context === '.') targets.add(s.build.target);
    for (const target of targets) {
      const user = userOf(stages.find((s) => s.name === target));
      expect(user, `stage ${target}`).toBeDefined();
      expect(user, `stage ${target}`).not.toMatch(/^(root|0)(:|$)/);
    }
  });

  it('.dockerignore drops node_modules, .git and tests but nothing the Dockerfile copies', () => {
    const patterns = readRepo('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const toRegExp = (glob: string) =>
      new RegExp(
        `^${glob
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '\0')
          .replace(/\*/g, '[^/]*')
          .replace(/\0/g, '(.*/)?')}$`,
      );
    // Docker's rule: the last pattern matching a path or one of its parent folders decides.
    const ignored = (path: string) => {
      const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
      let out = false;
      for (const p of patterns) {
        const negated = p.startsWith('!');
        const re = toRegExp(negated ? p.slice(1) : p);
        if (prefixes.some((q) => re.test(q))) out = !negated;
      }
      return out;
    };
    for (const p of ['node_modules', 'libs/nn/node_modules', '.git', 'test']) expect(ignored(p), p).toBe(true);
    const copied = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
    expect(copied.length).toBeGreaterThan(0);
    for (const src of copied) expect(ignored(src), `${src} is copied into an image`).toBe(false);
    expect(ignored('libs/nn/src/kernels/wasm/gemm.wasm')).toBe(false);
  });
});
