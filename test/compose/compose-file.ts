// Reads docker-compose.yml without a YAML library and without a Docker engine.
//
// Why a purpose-built reader: the project has no YAML parser among its dependencies, and
// docker-compose 1.29 (Debian's) cannot print its normalized config as JSON. So:
//   - `readComposeFile()` parses the file with `parseComposeYaml`, a strict reader for the subset
//     docker-compose.yml is written in (see the note at the top of that file), and applies compose's
//     `${VAR:-default}` interpolation. It needs nothing but Node, so end-to-end tests can always
//     use it (`composeServices()`).
//   - `dockerComposeConfig()` asks the real tool for its normalized config when one is on PATH
//     (docker-compose 1.x: YAML, converted to JSON with the PyYAML that docker-compose itself runs
//     on; Compose v2: `config --format json`). test/compose checks the reader against it, so a
//     construct the reader misreads cannot slip in unnoticed wherever docker-compose is installed
//     (CI installs it).
// The reader rejects, with a line number, anything outside its subset (anchors, aliases, merge
// keys, tags, flow mappings, block or multi-line scalars, tabs) instead of guessing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

/** A parsed value: scalars stay strings (compose's own interpretation decides types), `~`/`null`/empty → null. */
export type YamlValue = string | null | YamlValue[] | YamlMap;
export interface YamlMap {
  [key: string]: YamlValue;
}

export class ComposeSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`docker-compose.yml line ${line}: ${message}`);
  }
}

interface Line {
  no: number; // 1-based
  indent: number;
  text: string; // without indentation and trailing comment
}

// ---- lexical helpers --------------------------------------------------------------------------

/** Index of the first `#` that starts a comment (at the start, or after whitespace, outside quotes). */
function commentStart(s: string): number {
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = null;
    } else if (quote === "'") {
      if (c === "'") {
        if (s[i + 1] === "'") i++;
        else quote = null;
      }
    } else if (c === '#' && (i === 0 || s[i - 1] === ' ')) {
      return i;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s[,:-]/.test(s[i - 1]))) {
      quote = c;
    }
  }
  return -1;
}

function toLines(text: string): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    if (/^\s*\t/.test(raw)) throw new ComposeSyntaxError('tab in indentation', no);
    const indent = raw.length - raw.trimStart().length;
    let body = raw.slice(indent);
    const hash = commentStart(body);
    if (hash >= 0) body = body.slice(0, hash);
    body = body.trimEnd();
    if (body === '') return;
    if (indent === 0 && (body === '---' || body === '...' || body.startsWith('%'))) {
      throw new ComposeSyntaxError(`document markers and directives are not supported: ${body}`, no);
    }
    out.push({ no, indent, text: body });
  });
  return out;
}

/** Parses a double-quoted scalar starting at s[0] === '"'; returns its value and the rest. */
function doubleQuoted(s: string, no: number): [string, string] {
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '"') return [out, s.slice(i + 1)];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i];
    const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', ' ': ' ' };
    if (e !== undefined && e in simple) out += simple[e];
    else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16));
      i += 4;
    } else throw new ComposeSyntaxError(`unsupported escape \\${e ?? ''} in a double-quoted string`, no);
  }
  throw new ComposeSyntaxError('unterminated double-quoted string (multi-line scalars are not supported)', no);
}

function singleQuoted(s: string, no: number): [string, string] {
  let out = '';
  for (let i = 1; i < s.length; i++) {
    if (s[i] === "'") {
      if (s[i + 1] === "'") {
        out += "'";
        i++;
        continue;
      }
      return [out, s.slice(i + 1)];
    }
    out += s[i];
  }
  throw new ComposeSyntaxError('unterminated single-quoted string (multi-line scalars are not supported)', no);
}

function plainScalar(s: string, no: number): string | null {
  if (/^[&*!|>%@`]/.test(s) || s.startsWith('<<')) {
    throw new ComposeSyntaxError(`unsupported YAML construct (anchor, alias, tag, block scalar or reserved character): ${s}`, no);
  }
  if (/^[?]\s/.test(s)) throw new ComposeSyntaxError(`complex keys are not supported: ${s}`, no);
  if (s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  return s;
}

/** A one-line value: quoted, flow sequence, `{}`, or plain. */
function scalarOrFlow(s: string, no: number): YamlValue {
  s = s.trim();
  if (s.startsWith('"') || s.startsWith("'")) {
    const [v, rest] = s.startsWith('"') ? doubleQuoted(s, no) : singleQuoted(s, no);
    if (rest.trim() !== '') throw new ComposeSyntaxError(`unexpected text after a quoted string: ${rest.trim()}`, no);
    return v;
  }
  if (s.startsWith('[')) return flowSequence(s, no);
  if (s.startsWith('{')) {
    if (/^\{\s*\}$/.test(s)) return {};
    throw new ComposeSyntaxError('flow mappings {…} are not supported (write a block mapping)', no);
  }
  return plainScalar(s, no);
}

function flowSequence(s: string, no: number): YamlValue[] {
  const items: YamlValue[] = [];
  let rest = s.slice(1).trimStart();
  if (rest.startsWith(']')) {
    if (rest.slice(1).trim() !== '') throw new ComposeSyntaxError(`unexpected text after ]: ${rest.slice(1).trim()}`, no);
    return items;
  }
  for (;;) {
    if (rest === '') throw new ComposeSyntaxError('unterminated flow sequence (it must close on the same line)', no);
    let item: string | null;
    if (rest.startsWith('"') || rest.startsWith("'")) {
      [item, rest] = rest.startsWith('"') ? doubleQuoted(rest, no) : singleQuoted(rest, no);
    } else {
      const m = /^[^,[\]{}]*/.exec(rest)![0];
      if (/^[[{]/.test(rest)) throw new ComposeSyntaxError('nested flow collections are not supported', no);
      item = plainScalar(m.trim(), no);
      if (item === '') throw new ComposeSyntaxError('empty item in a flow sequence', no);
      rest = rest.slice(m.length);
    }
    items.push(item);
    rest = rest.trimStart();
    if (rest.startsWith(',')) {
      rest = rest.slice(1).trimStart();
      continue;
    }
    if (rest.startsWith(']')) {
      if (rest.slice(1).trim() !== '') throw new ComposeSyntaxError(`unexpected text after ]: ${rest.slice(1).trim()}`, no);
      return items;
    }
    throw new ComposeSyntaxError('unterminated flow sequence (it must close on the same line)', no);
  }
}

/** Splits `key: value` / `key:`; returns null when the line is not a mapping entry. */
function splitKey(text: string, no: number): [string, string] | null {
  let key: string;
  let rest: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    [key, rest] = text.startsWith('"') ? doubleQuoted(text, no) : singleQuoted(text, no);
    if (!/^:(\s|$)/.test(rest)) return null;
    return [key, rest.slice(1).trim()];
  }
  const m = /^([^\s#][^:]*?|[^\s#]*?):(\s|$)/.exec(text);
  if (!m) return null;
  key = m[1].trim();
  rest = text.slice(m[0].length).trim();
  if (/^[&*!|>[{]/.test(key) || key.startsWith('<<')) {
    throw new ComposeSyntaxError(`unsupported mapping key: ${key}`, no);
  }
  return [key, rest];
}

// ---- block structure --------------------------------------------------------------------------

class Reader {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  parseDocument(): YamlMap {
    if (this.lines.length === 0) return {};
    const first = this.lines[0];
    if (first.indent !== 0) throw new ComposeSyntaxError('the document must start at column 0', first.no);
    const v = this.block(0);
    if (this.i < this.lines.length) {
      const l = this.lines[this.i];
      throw new ComposeSyntaxError(`unexpected indentation (${l.indent} spaces)`, l.no);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ComposeSyntaxError('the top level must be a mapping', first.no);
    return v;
  }

  private block(indent: number): YamlValue {
    const l = this.lines[this.i];
    return l.text === '-' || l.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.indent < indent) break;
      if (l.indent > indent) throw new ComposeSyntaxError(`unexpected indentation (${l.indent} spaces, expected ${indent})`, l.no);
      if (!(l.text === '-' || l.text.startsWith('- '))) break;
      const item = l.text.slice(1).trim();
      if (item === '') throw new ComposeSyntaxError('sequence items must be on the same line as their "-"', l.no);
      if (!/^["'[]/.test(item) && splitKey(item, l.no) !== null) {
        throw new ComposeSyntaxError('sequences of mappings are not supported (use the short string syntax)', l.no);
      }
      out.push(scalarOrFlow(item, l.no));
      this.i++;
    }
    return out;
  }

  private mapping(indent: number): YamlMap {
    const out: YamlMap = {};
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.indent < indent) break;
      if (l.indent > indent) throw new ComposeSyntaxError(`unexpected indentation (${l.indent} spaces, expected ${indent})`, l.no);
      if (l.text === '-' || l.text.startsWith('- ')) break; // a sequence at this indent ends the mapping (its parent decides)
      const kv = splitKey(l.text, l.no);
      if (!kv) throw new ComposeSyntaxError(`expected "key: value", got: ${l.text}`, l.no);
      const [key, rest] = kv;
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new ComposeSyntaxError(`duplicate key "${key}"`, l.no);
      this.i++;
      if (rest !== '') {
        out[key] = scalarOrFlow(rest, l.no);
        continue;
      }
      const next = this.lines[this.i];
      if (next && next.indent > indent) out[key] = this.block(next.indent);
      else if (next && next.indent === indent && (next.text === '-' || next.text.startsWith('- '))) out[key] = this.sequence(indent);
      else out[key] = null;
    }
    return out;
  }
}

/** Parses the YAML subset docker-compose.yml is written in; throws ComposeSyntaxError outside it. */
export function parseComposeYaml(text: string): YamlMap {
  return new Reader(toLines(text)).parseDocument();
}

// ---- interpolation ----------------------------------------------------------------------------

export type Env = Record<string, string | undefined>;

/**
 * Compose's variable substitution: `$$` → `$`; `${VAR}`, `$VAR`; `${VAR:-default}` (default when
 * unset or empty), `${VAR-default}` (when unset); `${VAR:?message}`, `${VAR?message}` (error).
 * Unset variables without a default become '' (compose warns and does the same). Nested
 * substitutions in defaults are not supported (docker-compose 1.x does not support them either).
 */
export function interpolate(value: string, env: Env): string {
  return value.replace(/\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    if (bare !== undefined) return env[bare] ?? '';
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s.exec(braced!);
    if (!m) throw new Error(`invalid substitution ${whole}`);
    const [, name, colon, op, arg = ''] = m;
    if (arg.includes('${')) throw new Error(`nested substitution in ${whole} is not supported`);
    const v = env[name];
    const missing = v === undefined || (colon === ':' && v === '');
    if (!op) return v ?? '';
    if (!missing) return v!;
    if (op === '-') return arg;
    throw new Error(`required variable ${name} is missing: ${arg || 'set it in the environment or .env'}`);
  });
}

function interpolateAll(v: YamlValue, env: Env): YamlValue {
  if (v === null) return null;
  if (typeof v === 'string') return interpolate(v, env);
  if (Array.isArray(v)) return v.map((x) => interpolateAll(x, env));
  const out: YamlMap = {};
  for (const [k, x] of Object.entries(v)) out[k] = interpolateAll(x, env);
  return out;
}

// ---- the compose file -------------------------------------------------------------------------

export interface ReadOptions {
  /** Defaults to the repository's docker-compose.yml. */
  file?: string;
  /**
   * Variables for `${…}` substitution. Defaults to none, i.e. the file's own defaults — the
   * environment a plain `docker compose up` gives with no .env and nothing exported. Pass
   * `process.env` to substitute like compose run from this shell would.
   */
  env?: Env;
}

/** The compose file, parsed and interpolated (values are strings as written; no normalization). */
export async function readComposeFile(options: ReadOptions = {}): Promise<YamlMap> {
  const text = await readFile(options.file ?? COMPOSE_FILE, 'utf8');
  return interpolateAll(parseComposeYaml(text), options.env ?? {}) as YamlMap;
}

/** Compose's shell-like split of a string command (quotes, backslashes; no expansions). */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < s.length && /["\\$`]/.test(s[i + 1])) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in command: ${s}`);
  if (has) out.push(cur);
  return out;
}

/** `command`/`entrypoint` as argv: exec-form arrays as they are, strings split like compose does. */
export function argv(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return splitCommand(v);
  if (Array.isArray(v)) return v.map((x) => String(x));
  throw new Error(`expected a command string or list, got ${JSON.stringify(v)}`);
}

/** `environment` as a map: both the mapping and the `- KEY=value` list forms; values as strings. */
export function environmentMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq < 0) continue; // `- KEY` passes the caller's value through: nothing fixed to report
      out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  if (typeof v !== 'object') throw new Error(`expected an environment mapping or list, got ${JSON.stringify(v)}`);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null || x === undefined) continue; // `KEY:` with no value: passed through from the caller
    out[k] = typeof x === 'boolean' ? String(x) : String(x);
  }
  return out;
}

export interface ComposeService {
  /** The argv the container runs: entrypoint + command, paths relative to /app = the repo root. Empty when the image's CMD is used. */
  command: string[];
  /** The service's fixed environment after `${…}` substitution. */
  environment: Record<string, string>;
}

/**
 * Every service's command line and environment, for tests that start the coordinator and worker
 * as local processes with the compose file's settings:
 *
 *   const { coordinator } = await composeServices();
 *   spawn(process.execPath, coordinator.command.slice(1), { cwd: REPO_ROOT, env: { ...process.env, ...coordinator.environment, REDIS_URL } });
 *
 * (`command[0]` is `node`; use process.execPath for it.) Reads the file with the built-in reader,
 * so it needs no docker-compose; see ReadOptions.env for how `${…}` is substituted.
 */
export async function composeServices(options: ReadOptions = {}): Promise<Record<string, ComposeService>> {
  const doc = await readComposeFile(options);
  const services = doc.services;
  if (!services || typeof services !== 'object' || Array.isArray(services)) throw new Error('docker-compose.yml has no services mapping');
  const out: Record<string, ComposeService> = {};
  for (const [name, svc] of Object.entries(services)) {
    const s = (svc ?? {}) as YamlMap;
    out[name] = { command: [...argv(s.entrypoint), ...argv(s.command)], environment: environmentMap(s.environment) };
  }
  return out;
}

// ---- the real tool, when installed ------------------------------------------------------------

function run(cmd: string, args: string[], opts: { env: Env; cwd: string; input?: string }): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: opts.env as NodeJS.ProcessEnv, cwd: opts.cwd, maxBuffer: 1 << 24, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException).code ?? 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export interface ToolConfig {
  /** e.g. "docker-compose 1.29.2" */
  tool: string;
  /** The normalized config, as JSON. */
  config: Record<string, any>;
}

/**
 * `docker-compose config` for the file, as JSON, or null when no docker-compose is on PATH (or its
 * YAML cannot be converted). Runs with a minimal environment plus `env`, and with an empty
 * --env-file so a developer's .env does not leak in: the result is comparable with
 * readComposeFile({ env }). Throws when the tool rejects the file.
 */
export async function dockerComposeConfig(options: ReadOptions & { profiles?: string[] } = {}): Promise<ToolConfig | null> {
  const file = options.file ?? COMPOSE_FILE;
  const cwd = dirname(file);
  const env: Env = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env };
  const version = await run('docker-compose', ['version', '--short'], { env, cwd });
  if (version.code === 'ENOENT' || version.code !== 0) return null;
  const v = version.stdout.trim().replace(/^v/, '');
  const scratch = await mkdtemp(join(tmpdir(), 'redgrad-compose-'));
  const envFile = join(scratch, 'empty.env'); // 1.x refuses /dev/null ("is not a file")
  await writeFile(envFile, '');
  try {
    return await toolConfig(v, file, cwd, env, envFile, options.profiles ?? []);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function toolConfig(v: string, file: string, cwd: string, env: Env, envFile: string, profiles: string[]): Promise<ToolConfig | null> {
  if (/^1\./.test(v)) {
    // 1.x prints YAML only; it lists services of every profile.
    const cfg = await run('docker-compose', ['--env-file', envFile, '-f', file, 'config'], { env, cwd });
    if (cfg.code !== 0) throw new Error(`docker-compose ${v} config failed:\n${cfg.stderr}`);
    const py = 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)';
    const json = await run('python3', ['-c', py], { env, cwd, input: cfg.stdout });
    if (json.code !== 0) return null;
    return { tool: `docker-compose ${v}`, config: JSON.parse(json.stdout) };
  }
  // Compose v2 (standalone docker-compose binary): JSON natively; inactive profiles are left out,
  // so name them.
  const profileArgs = profiles.flatMap((p) => ['--profile', p]);
  const cfg = await run('docker-compose', ['--env-file', envFile, '-f', file, ...profileArgs, 'config', '--format', 'json'], { env, cwd });
  if (cfg.code !== 0) throw new Error(`docker-compose ${v} config failed:\n${cfg.stderr}`);
  return { tool: `docker-compose ${v}`, config: JSON.parse(cfg.stdout) };
}
