/**
 * The benchmark report: one scenario per file, run in this process one after another.
 *   npm run bench                                   readable report
 *   npm run bench -- --json                         one JSON object {figure name: number} on stdout
 *   npm run bench -- --only kernels,training        a subset (kernels, training, torch, distributed,
 *                                                   time-to-accuracy)
 * A report, never a test: a missed target is printed, not failed on; a scenario that cannot run
 * (no torch, no Redis) says why and the rest still runs. Ratios are only meaningful within one run:
 * the machine is shared, and both sides of a ratio are measured minutes apart at most.
 */
import { benchDistributed, distributedTargets } from './distributed.js';
import { benchKernels } from './kernels.js';
import { benchTimeToAccuracy } from './time-to-accuracy.js';
import { MODELS, trainKey } from './cases.js';
import { benchTorch, hostPinsOpenBlas } from './torch.js';
import { benchTraining } from './training.js';

const SCENARIOS = ['kernels', 'training', 'torch', 'distributed', 'time-to-accuracy'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Target {
  key: string;
  min?: number;
  max?: number;
  label: string;
}

/**
 * The distributed configurations of the report: the issue's targets are set at batch 256 and
 * 1024; the bigger batch skips the bf16 runs to keep the report short.
 */
const DISTRIBUTED_CONFIGS = [
  { kernel: 'wasm-simd', batch: 256, shardSize: 128 },
  {
    kernel: 'wasm-simd',
    batch: 1024,
    shardSize: 512,
    runs: [
      [1, 'f32', 0],
      [2, 'f32', 0],
      [1, 'f32', 1],
    ] as const,
  },
];

const TARGETS: Target[] = [
  { key: 'gflops.wasm.abt.128x256x784', min: 40, label: 'wasm ≥ 40 GFLOP/s on the 128×784×256 forward product' },
  { key: 'gflops.js.abt.128x256x784', min: 5, label: 'js ≥ 5 GFLOP/s on the 128×784×256 forward product' },
  {
    key: trainKey('wasm', '784-256-128-10', 128),
    min: 30_000,
    label: 'training (wasm) ≥ 30,000 samples/s at batch 128',
  },
  { key: trainKey('js', '784-256-128-10', 128), min: 5_000, label: 'training (js) ≥ 5,000 samples/s at batch 128' },
  {
    key: 'ratio.wasm_over_torch.784-256-128-10.b128',
    min: 0.4,
    label: 'training (wasm) ≥ 0.4× PyTorch at batch 128, OpenBLAS picking its kernel',
  },
  {
    key: 'ratio.wasm_over_torch-host.784-256-128-10.b128',
    min: 0.4,
    label: "training (wasm) ≥ 0.4× PyTorch at batch 128, this host's OpenBLAS settings",
  },
  {
    key: 'ratio.wasm_over_torch.4-16-3.b16',
    min: 3,
    label: 'tiny 4-16-3 (wasm, the auto kernel) ≥ 3× PyTorch samples/s',
  },
  { key: 'ratio.js_over_torch.4-16-3.b16', min: 3, label: 'tiny 4-16-3 (js) ≥ 3× PyTorch samples/s' },
  ...DISTRIBUTED_CONFIGS.flatMap((c) =>
    distributedTargets(c.batch).map((t) => ({
      key: `distributed.${c.kernel}.b${c.batch}.s${c.shardSize}.${t.figure}`,
      min: t.min,
      max: t.max,
      label: `distributed (wasm, shard ${c.shardSize}), ${t.label}`,
    })),
  ),
  {
    key: 'timeToAccuracy.cluster2_over_local',
    max: 1,
    label: 'Fashion-MNIST to 0.88 test accuracy: 2-worker cluster no slower than --local (wall time to the model)',
  },
  // the local example trains 15 epochs though it passes 0.88 at about the 6th: this one compares
  // the moments each run first had a model that good
  {
    key: 'timeToAccuracy.cluster2_over_local.firstReached',
    max: 1,
    label: 'Fashion-MNIST: 2-worker cluster first reaches 0.88 no later than --local',
  },
];

const met = (t: Target, v: number) => (t.min === undefined || v >= t.min) && (t.max === undefined || v <= t.max);
const bound = (t: Target) => (t.min !== undefined ? `≥ ${fmt(t.min)}` : `≤ ${fmt(t.max)}`);

function parseArgs(argv: string[]): { json: boolean; only: Set<Scenario> } {
  let json = false;
  let only = new Set<Scenario>(SCENARIOS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? (argv[++i] ?? '') : a.slice('--only='.length);
      const names = list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0) {
        throw new Error(
          `--only: expected a comma-separated list of ${SCENARIOS.join(', ')}, got ${JSON.stringify(list)}`,
        );
      }
      only = new Set(names as Scenario[]);
    } else throw new Error(`unknown argument ${JSON.stringify(a)} (known: --json, --only ${SCENARIOS.join(',')})`);
  }
  return { json, only };
}

const fmt = (v: number | undefined, digits = 0) =>
  v === undefined ? '—' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const targetNote = (figures: Record<string, number>, key: string) => {
  const t = TARGETS.find((x) => x.key === key);
  if (!t || figures[key] === undefined) return '';
  return `target ${bound(t)}${key.startsWith('ratio') ? '×' : ''}: ${met(t, figures[key]) ? 'met' : 'MISSED'}`;
};

function kernelTable(f: Record<string, number>): string[] {
  const rows = Object.keys(f)
    .filter((k) => k.startsWith('gflops.js.'))
    .map((k) => k.slice('gflops.js.'.length));
  const lines = [
    'Kernels: GFLOP/s per product of the 784-256-128-10 MLP at batch 128 (best 50 ms window)',
    '  product  m×n×k        js      wasm   wasm/js',
  ];
  for (const shape of rows) {
    const [op, mnk = 'all of them'] = shape.split('.');
    const js = f[`gflops.js.${shape}`],
      wasm = f[`gflops.wasm.${shape}`];
    const notes = (['js', 'wasm'] as const)
      .map((k) => targetNote(f, `gflops.${k}.${shape}`) && `${k} ${targetNote(f, `gflops.${k}.${shape}`)}`)
      .filter(Boolean)
      .join('; ');
    lines.push(
      `  ${op.padEnd(8)} ${mnk.padEnd(12)} ${fmt(js, 2).padStart(6)} ${fmt(wasm, 2).padStart(9)} ${(wasm !== undefined ? `${(wasm / js).toFixed(1)}×` : '—').padStart(8)}  ${notes}`,
    );
  }
  return lines;
}

function trainingTable(f: Record<string, number>, withTorch: boolean): string[] {
  const lines = [
    'Training: samples/s on one thread, train() + LocalBackend, Adam, one shard per step (best 200 ms window; median in brackets)',
    `  model            batch  ${'js'.padStart(17)} ${'wasm'.padStart(17)}  wasm/js  GFLOP/s(wasm)  shardGradient only (wasm)${withTorch ? `  ${'torch'.padStart(17)}  wasm/torch  js/torch` : ''}`,
  ];
  for (const model of MODELS) {
    for (const batch of model.batches) {
      const cell = (kernel: string) => {
        const best = f[trainKey(kernel, model.name, batch)];
        return best === undefined
          ? '—'.padStart(17)
          : `${fmt(best)} (${fmt(f[`${trainKey(kernel, model.name, batch)}.median`])})`.padStart(17);
      };
      const ratio = (key: string) => (f[key] === undefined ? '—' : `${f[key].toFixed(2)}×`);
      const row = [
        `  ${model.name.padEnd(16)} ${String(batch).padStart(5)}  ${cell('js')} ${cell('wasm')}`,
        ratio(`ratio.wasm_over_js.${model.name}.b${batch}`).padStart(8),
        fmt(f[`train.wasm.${model.name}.b${batch}.gflops`], 1).padStart(14),
        fmt(f[`grad.wasm.${model.name}.b${batch}.samplesPerSec`]).padStart(26),
      ];
      if (withTorch) {
        row.push(
          ` ${cell('torch')}`,
          ratio(`ratio.wasm_over_torch.${model.name}.b${batch}`).padStart(11),
          ratio(`ratio.js_over_torch.${model.name}.b${batch}`).padStart(9),
        );
      }
      lines.push(row.join(' '));
    }
  }
  return lines;
}

/** redgrad/torch per model and batch, for each redgrad kernel and torch run measured in the same run. */
function torchRatios(f: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const model of MODELS) {
    for (const batch of model.batches) {
      for (const torchRun of ['torch', 'torch-host']) {
        const torch = f[trainKey(torchRun, model.name, batch)];
        if (torch === undefined) continue;
        for (const kernel of ['js', 'wasm']) {
          const ours = f[trainKey(kernel, model.name, batch)];
          if (ours !== undefined) out[`ratio.${kernel}_over_${torchRun}.${model.name}.b${batch}`] = ours / torch;
        }
      }
    }
  }
  return out;
}

/** The second PyTorch run, with this host's OpenBLAS settings, as its own small table. */
function torchHostTable(f: Record<string, number>): string[] {
  const lines = [
    `PyTorch with this host's OpenBLAS settings (${['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']
      .filter((k) => process.env[k])
      .map((k) => `${k}=${process.env[k]}`)
      .join(' ')}): samples/s and wasm/torch`,
  ];
  for (const model of MODELS) {
    for (const batch of model.batches) {
      const key = trainKey('torch-host', model.name, batch);
      if (f[key] === undefined) continue;
      const r = f[`ratio.wasm_over_torch-host.${model.name}.b${batch}`];
      lines.push(
        `  ${model.name.padEnd(16)} ${String(batch).padStart(5)}  ${fmt(f[key]).padStart(10)}  ${r === undefined ? '—' : `${r.toFixed(2)}×`}`,
      );
    }
  }
  return lines;
}

async function runDistributed(): Promise<{ figures: Record<string, number>; note?: string }> {
  const figures: Record<string, number> = {};
  try {
    for (const c of DISTRIBUTED_CONFIGS)
      Object.assign(figures, await benchDistributed({ ...c, runs: c.runs?.slice(), log: (s) => console.log(s) }));
    return { figures };
  } catch (e) {
    return { figures, note: `distributed: failed (${(e as Error).message})` };
  }
}

async function main(): Promise<void> {
  const { json, only } = parseArgs(process.argv.slice(2));
  const figures: Record<string, number> = {};
  // In --json mode stdout carries only the JSON object; everything readable, including what a
  // scenario itself logs, goes to stderr.
  const stdoutLog = console.log;
  if (json) console.log = console.error;
  const say = (...lines: string[]) => {
    for (const l of lines) console.log(l);
  };
  const secondsSince = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

  say(`redgrad bench — node ${process.version}, ${process.arch}; scenarios: ${[...only].join(', ')}`, '');
  if (only.has('kernels')) {
    const t0 = performance.now();
    Object.assign(figures, await benchKernels());
    say(...kernelTable(figures), `  (kernels: ${secondsSince(t0)})`, '');
  }
  let trainingTime = '';
  if (only.has('training')) {
    const t0 = performance.now();
    Object.assign(figures, await benchTraining());
    trainingTime = `training: ${secondsSince(t0)}`;
  }
  let torchAvailable = false;
  if (only.has('torch')) {
    const t0 = performance.now();
    const torch = await benchTorch('autodetect');
    const host = torch.available && hostPinsOpenBlas() ? await benchTorch('host') : undefined;
    Object.assign(figures, torch.figures, host?.figures);
    Object.assign(figures, torchRatios(figures));
    torchAvailable = torch.available;
    say(...torch.notes, ...(host?.notes ?? []), `  (torch: ${secondsSince(t0)})`, '');
  }
  if (only.has('training') || torchAvailable)
    say(...trainingTable(figures, torchAvailable), ...(trainingTime ? [`  (${trainingTime})`] : []), '');
  if (only.has('training') && hostPinsOpenBlas() && torchAvailable) say(...torchHostTable(figures), '');
  if (only.has('distributed')) {
    const t0 = performance.now();
    const { figures: d, note } = await runDistributed();
    Object.assign(figures, d);
    if (note) say(note, '');
    else
      say(
        'Distributed:',
        ...Object.entries(d).map(([k, v]) => `  ${k.padEnd(60)} ${fmt(v, 2)}`),
        `  (distributed: ${secondsSince(t0)})`,
        '',
      );
  }
  if (only.has('time-to-accuracy')) {
    const t0 = performance.now();
    const { figures: f, note } = await benchTimeToAccuracy({ log: (s) => console.log(s) });
    Object.assign(figures, f);
    say(...(note ? [note] : []), `  (time-to-accuracy: ${secondsSince(t0)})`, '');
  }

  const checked = TARGETS.filter((t) => figures[t.key] !== undefined);
  if (checked.length > 0) {
    say('Targets (reported, not enforced):');
    for (const t of checked)
      say(
        `  ${met(t, figures[t.key]) ? 'met   ' : 'MISSED'}  ${t.label}: ${fmt(figures[t.key], /ratio|OverFloor|_over_/.test(t.key) ? 2 : t.key.startsWith('gflops') ? 1 : 0)}`,
      );
  }
  if (json) stdoutLog(JSON.stringify(figures));
}

await main();
