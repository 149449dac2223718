// docker-compose.yml as compose reads it, without a Docker engine: parsed with `yaml`, then every
// string value gets compose's `${VAR}` substitution. The end-to-end tests start the coordinator and
// worker with the commands and environment read here, so they run what the compose file runs.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

export type Env = Record<string, string | undefined>;

/** The fields of a service the tests read; the rest of the file stays `unknown`. */
export interface ComposeServiceConfig {
  image?: string;
  build?: string | { context?: string; target?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  ports?: Array<string | number | { published?: string | number; target?: number }>;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  container_name?: string;
  deploy?: { replicas?: number };
  profiles?: string[];
  user?: string;
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeServiceConfig>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Compose's variable substitution: `$$` → `$`; `${VAR}`, `$VAR`; `${VAR:-default}` (default when
 * unset or empty), `${VAR-default}` (when unset); `${VAR:?message}`, `${VAR?message}` (error).
 * An unset variable without a default becomes '' (compose warns and does the same).
 */
export function interpolate(value: string, env: Env): string {
  return value.replace(
    /\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$';
      if (bare !== undefined) return env[bare] ?? '';
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s.exec(braced ?? '');
      if (!m) throw new Error(`invalid substitution ${whole}`);
      const [, name, colon, op, arg = ''] = m;
      const v = env[name];
      const missing = v === undefined || (colon === ':' && v === '');
      if (!missing) return v;
      if (op === '-') return arg;
      if (op === '?') throw new Error(`required variable ${name} is missing: ${arg}`);
      return '';
    },
  );
}

function interpolateAll(v: unknown, env: Env): unknown {
  if (typeof v === 'string') return interpolate(v, env);
  if (Array.isArray(v)) return v.map((x) => interpolateAll(x, env));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateAll(x, env)]));
  }
  return v;
}

export interface ReadOptions {
  /** Defaults to the repository's docker-compose.yml. */
  file?: string;
  /**
   * Variables for `${…}` substitution. Defaults to none, i.e. the file's own defaults: what a
   * plain `docker compose up` gives with no .env and nothing exported.
   */
  env?: Env;
}

/** The compose file, parsed and interpolated. */
export async function readComposeFile(options: ReadOptions = {}): Promise<ComposeFile> {
  const doc = parse(await readFile(options.file ?? COMPOSE_FILE, 'utf8')) as ComposeFile;
  if (!doc?.services || typeof doc.services !== 'object') throw new Error('docker-compose.yml has no services');
  return interpolateAll(doc, options.env ?? {}) as ComposeFile;
}

/** `command`/`entrypoint` as argv. A string is split on whitespace, which is how compose splits
 * one without quotes; a quoted string command would need compose's shell-like split. */
export function argv(v: string | string[] | undefined): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  if (/["'\\]/.test(v)) throw new Error(`write the command ${v} as a list`);
  return v.split(/\s+/).filter(Boolean);
}

/** `environment` as a map, from either the mapping or the `- KEY=value` list form. A key with no
 * value passes the caller's value through, so it has no fixed value to report. */
export function environmentMap(v: ComposeServiceConfig['environment']): Record<string, string> {
  if (!v) return {};
  if (Array.isArray(v)) {
    const pairs = v
      .filter((s) => s.includes('='))
      .map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]);
    return Object.fromEntries(pairs);
  }
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null && x !== undefined)
      .map(([k, x]) => [k, String(x)]),
  );
}

export interface ComposeService {
  /** The argv the container runs: entrypoint + command, paths relative to /app = the repo root. */
  command: string[];
  /** The service's fixed environment after `${…}` substitution. */
  environment: Record<string, string>;
}

/**
 * Every service's command line and environment, for tests that start the coordinator and worker
 * as local processes with the compose file's settings (`command[0]` is `node`: use process.execPath).
 */
export async function composeServices(options: ReadOptions = {}): Promise<Record<string, ComposeService>> {
  const doc = await readComposeFile(options);
  return Object.fromEntries(
    Object.entries(doc.services).map(([name, s]) => [
      name,
      { command: [...argv(s.entrypoint), ...argv(s.command)], environment: environmentMap(s.environment) },
    ]),
  );
}
