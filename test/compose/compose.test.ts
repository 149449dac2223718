// docker-compose.yml, Dockerfile and .env.example: structure checks that need no Docker engine.
// The file is read with the strict reader in compose-file.ts; when docker-compose is on PATH the
// reader's result is also compared with `docker-compose config` (CI installs it).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  COMPOSE_FILE,
  ComposeSyntaxError,
  REPO_ROOT,
  argv,
  composeServices,
  dockerComposeConfig,
  environmentMap,
  interpolate,
  parseComposeYaml,
  readComposeFile,
  splitCommand,
  type ToolConfig,
  type YamlMap,
} from './compose-file.js';

const run = promisify(execFile);
const repo = (p: string) => join(REPO_ROOT, p);
const NODE_SERVICES = ['coordinator', 'worker', 'cli', 'dashboard'];

let doc: YamlMap;
let services: Record<string, YamlMap>;
beforeAll(async () => {
  doc = await readComposeFile();
  services = doc.services as Record<string, YamlMap>;
});

const map = (v: unknown) => v as YamlMap;

describe('docker-compose.yml', () => {
  it('has the services redis, redis-steps, coordinator, worker, cli and dashboard', () => {
    expect(Object.keys(services).sort()).toEqual(['cli', 'coordinator', 'dashboard', 'redis', 'redis-steps', 'worker']);
  });

  it('redis-steps: no persistence at all, noeviction, the password, a healthcheck; coordinator and worker use it for step traffic', async () => {
    const r = services['redis-steps'];
    const cmd = argv(r.command);
    const opt = (name: string) => cmd[cmd.indexOf(name) + 1];
    expect(cmd[0]).toBe('redis-server');
    expect(opt('--appendonly')).toBe('no');
    expect(opt('--save')).toBe('');
    expect(opt('--maxmemory-policy')).toBe('noeviction');
    expect(opt('--requirepass')).toBe('redgrad');
    expect(r.volumes).toBeUndefined();
    expect(argv(map(r.healthcheck).test).join(' ')).toMatch(/redis-cli.*ping/);
    const svc = await composeServices();
    for (const name of ['coordinator', 'worker']) {
      expect(svc[name].environment.REDGRAD_STEP_REDIS_URL, name).toBe('redis://:redgrad@redis-steps:6379');
      expect(map(map(services[name].depends_on)['redis-steps']).condition, name).toBe('service_healthy');
    }
  });

  it('redis: appendonly, noeviction, password, a volume for /data, a healthcheck, not published', () => {
    const r = services.redis;
    expect(r.image).toMatch(/^redis:7/);
    const cmd = argv(r.command);
    const opt = (name: string) => cmd[cmd.indexOf(name) + 1];
    expect(cmd[0]).toBe('redis-server');
    expect(opt('--appendonly')).toBe('yes');
    expect(opt('--maxmemory-policy')).toBe('noeviction');
    expect(opt('--requirepass')).toBe('redgrad'); // ${REDIS_PASSWORD:-redgrad}
    expect((r.volumes as string[]).some((v) => /^[A-Za-z0-9][\w.-]*:\/data(:|$)/.test(v))).toBe(true);
    const volumeName = (r.volumes as string[]).find((v) => v.includes(':/data'))!.split(':')[0];
    expect(Object.keys(map(doc.volumes))).toContain(volumeName);
    expect(argv(map(r.healthcheck).test).join(' ')).toMatch(/redis-cli.*ping/);
    expect(r.ports).toBeUndefined();
  });

  it('every service that depends on redis waits for it to be healthy (and redis has a healthcheck)', () => {
    expect(services.redis.healthcheck).toBeTruthy();
    for (const name of NODE_SERVICES) {
      expect(map(map(services[name].depends_on).redis).condition, name).toBe('service_healthy');
    }
  });

  it('worker: 2 replicas, no container_name or host ports (so it scales), graceful SIGTERM stop', () => {
    const w = services.worker;
    expect(map(w.deploy).replicas).toBe('2');
    expect(w.container_name).toBeUndefined();
    expect(w.ports).toBeUndefined();
    expect(w.stop_signal).toBe('SIGTERM');
    expect(w.stop_grace_period).toBe('30s');
  });

  it('coordinator and worker: built from the Dockerfile, init, restart, healthcheck via docker/healthcheck.mjs', () => {
    for (const name of ['coordinator', 'worker']) {
      const s = services[name];
      expect(map(s.build).context, name).toBe('.');
      expect(map(s.build).target, name).toBe('runtime');
      expect(s.init, name).toBe('true');
      expect(s.restart, name).toBe('unless-stopped');
      expect(argv(map(s.healthcheck).test), name).toEqual(['CMD', 'node', 'docker/healthcheck.mjs']);
    }
    expect(existsSync(repo('docker/healthcheck.mjs'))).toBe(true);
  });

  it('coordinator and worker commands point at files that exist in the repo', async () => {
    const svc = await composeServices();
    expect(svc.coordinator.command).toEqual(['node', 'apps/coordinator/bin/redgrad-coordinator.js']);
    expect(svc.worker.command).toEqual(['node', 'apps/worker/bin/redgrad-worker.js']);
    for (const name of ['coordinator', 'worker', 'cli']) {
      const [node, script] = svc[name].command;
      expect(node, name).toBe('node');
      expect(statSync(repo(script)).isFile(), `${name}: ${script}`).toBe(true);
    }
    expect(svc.cli.command.slice(0, 2)).toEqual(['node', 'apps/cli/bin/redgrad.js']);
  });

  it('cli and dashboard are under profiles; redis, coordinator and worker start by default', () => {
    expect(services.cli.profiles).toEqual(['cli']);
    expect(services.dashboard.profiles).toEqual(['dashboard']);
    for (const name of ['redis', 'redis-steps', 'coordinator', 'worker']) expect(services[name].profiles, name).toBeUndefined();
  });

  it('cli: the CLI bin as entrypoint, examples and data mounted read-only', () => {
    const c = services.cli;
    expect(argv(c.entrypoint)).toEqual(['node', 'apps/cli/bin/redgrad.js']);
    expect(map(c.build).target).toBe('cli');
    expect(c.volumes).toEqual(expect.arrayContaining(['./examples:/app/examples:ro', './data:/app/data:ro']));
    expect(existsSync(repo('data/README.md'))).toBe(true);
  });

  it('dashboard: its own build context with a pinned package.json and lockfile, loopback-only port', () => {
    const d = services.dashboard;
    const ctx = map(d.build).context as string;
    expect(ctx).toBe('./docker/bull-board');
    for (const f of ['Dockerfile', 'package.json', 'package-lock.json', 'server.mjs', 'healthcheck.mjs']) {
      expect(existsSync(repo(join(ctx, f))), f).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(repo(join(ctx, 'package.json')), 'utf8'));
    for (const dep of ['@bull-board/api', '@bull-board/express', 'express', 'bullmq', 'ioredis']) {
      expect(pkg.dependencies[dep], dep).toMatch(/^\d+\.\d+\.\d+$/);
    }
    expect(d.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(environmentMap(d.environment).PORT).toBe('3000');
    const server = readFileSync(repo(join(ctx, 'server.mjs')), 'utf8');
    expect(server).toMatch(/\['jobs', 'gradients'\]/);
    expect(server).toMatch(/prefix: `\{\$\{prefix\}\}`/);
  });

  it('node services get REDIS_URL for the compose redis with the compose password', async () => {
    const svc = await composeServices();
    for (const name of NODE_SERVICES) expect(svc[name].environment.REDIS_URL, name).toBe('redis://:redgrad@redis:6379');
    const custom = await composeServices({ env: { REDIS_PASSWORD: 's3cret', REDGRAD_WORKER_CONCURRENCY: '4' } });
    expect(custom.worker.environment.REDIS_URL).toBe('redis://:s3cret@redis:6379');
    expect(custom.worker.environment.REDGRAD_WORKER_CONCURRENCY).toBe('4');
    expect(custom.redis.command).toContain('s3cret');
  });

  it('coordinator and worker set every REDGRAD_* knob their code reads, with the code defaults', async () => {
    const svc = await composeServices();
    const knobs = (dir: string) => {
      const found: Record<string, string> = {};
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (p.endsWith('.ts')) {
            for (const m of readFileSync(p, 'utf8').matchAll(/env(?:Int|Choice)\(\s*\w+,\s*'(REDGRAD_\w+)',\s*([\d_]+|'\w+')/g)) found[m[1]] = m[2].replace(/[_']/g, '');
          }
        }
      };
      walk(repo(dir));
      return found;
    };
    for (const [name, dir] of [['coordinator', 'apps/coordinator/src'], ['worker', 'apps/worker/src']]) {
      const code = knobs(dir);
      expect(Object.keys(code).length, name).toBeGreaterThan(0);
      for (const [knob, dflt] of Object.entries(code)) expect(svc[name].environment[knob], `${name} ${knob}`).toBe(dflt);
      expect(svc[name].environment.REDGRAD_PREFIX).toBe('redgrad');
      expect(svc[name].environment.REDGRAD_LOG_LEVEL).toBe('info');
      // and nothing misspelled: every REDGRAD_* set here is read somewhere in the code
      const source = [code, knobs('libs')];
      for (const k of Object.keys(svc[name].environment).filter((k) => k.startsWith('REDGRAD_'))) {
        if (k === 'REDGRAD_PREFIX' || k === 'REDGRAD_LOG_LEVEL') continue; // read via clusterEnv/serviceLogger
        if (k === 'REDGRAD_STEP_REDIS_URL') continue; // a URL, read beside REDIS_URL
        expect(source.some((s) => k in s), `${name} sets ${k}, which no code reads`).toBe(true);
      }
    }
  });

  it('.env.example documents every variable the compose file substitutes', () => {
    const vars = new Set([...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/\$\{([A-Za-z_]\w*)/g)].map((m) => m[1]));
    for (const f of ['docker/compose.redis-port.yml']) {
      for (const m of readFileSync(repo(f), 'utf8').matchAll(/\$\{([A-Za-z_]\w*)/g)) vars.add(m[1]);
    }
    const example = readFileSync(repo('.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Za-z_]\w*)=/gm)].map((m) => m[1]));
    for (const v of ['REDIS_PASSWORD', 'DASHBOARD_PORT']) expect(vars.has(v), v).toBe(true);
    for (const v of vars) expect(documented.has(v), `${v} missing from .env.example`).toBe(true);
    // the documented default is the compose default
    const text = readFileSync(COMPOSE_FILE, 'utf8') + readFileSync(repo('docker/compose.redis-port.yml'), 'utf8');
    for (const m of text.matchAll(/\$\{([A-Za-z_]\w*):-([^}]*)\}/g)) {
      expect(example, m[1]).toMatch(new RegExp(`^${m[1]}=${m[2].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(repo('Dockerfile'), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ from: m[1], name: m[2] }));

  it('multi-stage on node:20-bookworm-slim, production deps only, non-root, worker by default', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(stages.length).toBeGreaterThan(2);
    expect(stages.at(-1)!.name).toBe('runtime'); // the default target
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM app AS runtime'));
    expect(runtime).toMatch(/^CMD \["node", "apps\/worker\/bin\/redgrad-worker.js"\]$/m);
  });

  it('every build target the compose file names is a stage', () => {
    const names = new Set(stages.map((s) => s.name));
    for (const name of ['coordinator', 'worker', 'cli']) expect(names.has(map(services[name].build).target as string), name).toBe(true);
  });

  it('.dockerignore keeps what the image needs and drops node_modules, .git and tests', () => {
    const ignore = readFileSync(repo('.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['**/node_modules', '.git', 'test']) expect(ignore, p).toContain(p);
    for (const kept of ['libs', 'apps', 'package.json', 'package-lock.json', 'tsconfig.json', '*.wasm', 'examples']) {
      expect(ignore, kept).not.toContain(kept);
    }
    expect(ignore).toContain('!docker/healthcheck.mjs');
    expect(existsSync(repo('libs/nn/src/kernels/wasm/gemm.wasm'))).toBe(true);
  });
});

describe('docker/healthcheck.mjs', () => {
  const script = repo('docker/healthcheck.mjs');
  const check = async (url: string) => {
    try {
      await run(process.execPath, [script], { env: { ...process.env, REDIS_URL: url, HEALTHCHECK_TIMEOUT_MS: '3000' }, timeout: 10_000 });
      return 0;
    } catch (e) {
      return (e as { code: number }).code;
    }
  };

  it('exits 0 when Redis answers PING', async () => {
    expect(await check(inject('redisUrl'))).toBe(0);
  });

  it('exits 1 when nothing listens there', async () => {
    expect(await check('redis://127.0.0.1:1')).toBe(1);
  });
});

describe('the compose file reader', () => {
  it('parses mappings, sequences, one-line flow sequences, quotes and comments', () => {
    const y = parseComposeYaml(
      [
        '# comment',
        'services:',
        '  a:',
        '    image: "redis:7"   # trailing comment',
        "    command: ['x', \"y z\", plain, 'it''s', \"q\\\"#\"]",
        '    environment:',
        '      A: "1"',
        '      B: two # comment',
        '      C: "has # hash"',
        '    volumes:',
        '      - "./x:/x:ro"',
        '      - y:/y',
        '    healthcheck:',
        '      test: []',
        '    empty:',
        'volumes:',
        '  v:',
        '  w: {}',
        'list:',
        '- a',
        '- b',
      ].join('\n'),
    );
    expect(y).toEqual({
      services: {
        a: {
          image: 'redis:7',
          command: ['x', 'y z', 'plain', "it's", 'q"#'],
          environment: { A: '1', B: 'two', C: 'has # hash' },
          volumes: ['./x:/x:ro', 'y:/y'],
          healthcheck: { test: [] },
          empty: null,
        },
      },
      volumes: { v: null, w: {} },
      list: ['a', 'b'],
    });
  });

  it.each([
    ['x: &anchor 1', /anchor/],
    ['x: *alias', /alias/],
    ['x:\n  <<: *base', /unsupported/],
    ['x: !!str 1', /tag/],
    ['x: |\n  text', /block scalar/],
    ['x: {a: 1}', /flow mappings/],
    ['x: "open\n  close"', /unterminated/],
    ['x: [a,\n  b]', /unterminated flow sequence/],
    ['x:\n  - a: 1', /sequences of mappings/],
    ['x:\n\t- a', /tab/],
    ['x: 1\nx: 2', /duplicate key/],
    ['x:\n  a: 1\n    b: 2', /indentation/],
    ['just text', /key: value/],
  ])('rejects %j', (text, message) => {
    expect(() => parseComposeYaml(text)).toThrow(ComposeSyntaxError);
    expect(() => parseComposeYaml(text)).toThrow(message);
  });

  it('substitutes variables like compose', () => {
    const env = { SET: 'v', EMPTY: '' };
    expect(interpolate('${SET:-d} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $SET ${SET} $$SET ${UNSET}.', env)).toBe('v d d  d v v $SET .');
    expect(() => interpolate('${UNSET:?needed}', env)).toThrow(/needed/);
    expect(() => interpolate('${EMPTY:?needed}', env)).toThrow(/needed/);
    expect(interpolate('${EMPTY?needed}', env)).toBe('');
  });

  it('splits string commands like compose', () => {
    expect(splitCommand(`node  "a b" 'c d' e\\ f`)).toEqual(['node', 'a b', 'c d', 'e f']);
    expect(argv(['a', 'b'])).toEqual(['a', 'b']);
    expect(environmentMap(['A=1', 'B=x=y', 'C'])).toEqual({ A: '1', B: 'x=y' });
  });
});

describe('agreement with docker-compose config (when docker-compose is installed)', () => {
  let tool: ToolConfig | null = null;
  beforeAll(async () => {
    tool = await dockerComposeConfig({ profiles: ['cli', 'dashboard'] });
    if (!tool) console.warn('[compose] docker-compose not on PATH: skipping the comparison with `docker-compose config`');
  });

  it('validates the file and reads the same services, commands, environment and settings', async (ctx) => {
    if (!tool) ctx.skip();
    const theirs = tool!.config.services as Record<string, Record<string, any>>;
    const mine = services;
    expect(Object.keys(theirs).sort()).toEqual(Object.keys(mine).sort());
    const envs = await composeServices();
    for (const [name, t] of Object.entries(theirs)) {
      const m = mine[name];
      const where = `${tool!.tool}: ${name}`;
      expect([...argv(t.entrypoint), ...argv(t.command)], where).toEqual(envs[name].command);
      expect(environmentMap(t.environment), where).toEqual(envs[name].environment);
      expect(t.profiles ?? [], where).toEqual(m.profiles ?? []);
      expect(t.image, where).toBe(m.image);
      expect(t.container_name, where).toBeUndefined();
      expect(t.restart ?? null, where).toBe(m.restart ?? null);
      expect(t.init ?? false, where).toBe(m.init === 'true');
      expect(t.deploy?.replicas, where).toBe(m.deploy ? Number(map(m.deploy).replicas) : undefined);
      expect(t.depends_on?.redis?.condition, where).toBe(m.depends_on ? map(map(m.depends_on).redis).condition : undefined);
      expect(argv(t.healthcheck?.test), where).toEqual(argv(m.healthcheck ? map(m.healthcheck).test : undefined));
      expect(t.stop_grace_period, where).toBe(m.stop_grace_period ?? undefined);
      expect((t.ports ?? []).length, where).toBe(((m.ports as string[] | undefined) ?? []).length);
      expect((t.volumes ?? []).length, where).toBe(((m.volumes as string[] | undefined) ?? []).length);
    }
  });

  it('also accepts the Redis port override file', async (ctx) => {
    if (!tool) ctx.skip();
    const { stdout } = await run('docker-compose', ['-f', COMPOSE_FILE, '-f', repo('docker/compose.redis-port.yml'), 'config'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_PORT: '16379' },
    });
    expect(stdout).toMatch(/127\.0\.0\.1:16379:6379/);
  });
});
