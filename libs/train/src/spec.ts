import { RedgradError, describeValue } from '@redgrad/errors';
import { ACTIVATIONS, INITS, LOSSES, LOSS_OUTPUTS, OPTIMIZERS, SCHEDULES } from '@redgrad/nn';
import type { Activation, Init, Loss, OptimizerSpec, ScheduleSpec } from '@redgrad/nn';
import { DataError, SCALING_METHODS, validateDataSource } from '@redgrad/data';
import type { DataSource, ScalingMethod } from '@redgrad/data';

/**
 * The job spec: one flat JSON object (see README "Job spec"). Validation rejects unknown keys and
 * wrong types with a message naming the field and what is allowed; defaults are filled in here so
 * the rest of the code sees one fully resolved shape.
 */
export interface JobSpec {
  name: string;
  data: DataSource;
  /** Fraction of the data held out for testing when the source has no test file (default 0.2). */
  testSplit: number;
  scaling: ScalingMethod;
  model: {
    hidden: Array<{ size: number; activation: Activation }>;
    /** Output activation; default softmax for classification, identity for regression. */
    output?: Activation;
    init: Init;
  };
  /** Default cross-entropy for classification, squared-error for regression. */
  loss?: Loss;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  /** Samples per step, or "full" for full-batch gradient descent. */
  batchSize: number | 'full';
  /** Samples per shard: the unit of work sent to a worker (default 32, at most batchSize). */
  shardSize: number;
  epochs: number;
  seed: number;
  shuffle: boolean;
  /** Matrix kernel: "auto" (fastest available), "js" or "wasm-simd". */
  kernel: 'auto' | 'js' | 'wasm-simd';
  /** Distributed runs: checkpoint every N steps (and at each epoch end); 0 = epoch ends only. */
  checkpointEvery: number;
  /**
   * Distributed runs: how workers send gradients. "f32" (default) is exact and deterministic; "bf16"
   * halves the bytes with error feedback, and gives up bit-identical results (and equality with --local).
   */
  gradientEncoding: 'f32' | 'bf16';
}

/** A job spec that cannot run: the message names the field and what is allowed. */
export class SpecError extends RedgradError {
  override name = 'SpecError';

  constructor(message: string, options?: ErrorOptions) {
    super('user', 'bad-spec', message, options);
  }
}

const TOP_KEYS = [
  'name',
  'data',
  'testSplit',
  'scaling',
  'model',
  'loss',
  'optimizer',
  'schedule',
  'batchSize',
  'shardSize',
  'epochs',
  'seed',
  'shuffle',
  'kernel',
  'checkpointEvery',
  'gradientEncoding',
];
const KERNELS = ['auto', 'js', 'wasm-simd'] as const;

/** Checks an untrusted spec section by section, top to bottom; the first fault is a SpecError naming its field. */
export function validateJobSpec(raw: unknown, where = 'spec'): JobSpec {
  const o = object(raw, where);
  onlyKeys(o, TOP_KEYS, where);
  const data = dataSection(o.data, `${where}.data`);
  const model = modelSection(o.model ?? {}, `${where}.model`);
  const loss = o.loss === undefined ? undefined : oneOf(o.loss, LOSSES, `${where}.loss`);
  if (loss && model.output && !LOSS_OUTPUTS[loss].includes(model.output)) {
    throw new SpecError(
      `${where}.model.output: ${loss} needs outputs in (0, 1): use one of ${LOSS_OUTPUTS[loss].join(', ')}, got "${model.output}"`,
    );
  }
  const optimizer = optimizerSection(o.optimizer ?? { type: 'adam', lr: 0.001 }, `${where}.optimizer`);
  const schedule = scheduleSection(o.schedule ?? { type: 'constant' }, `${where}.schedule`);
  const { batchSize, shardSize } = batching(o, where);
  return {
    name: o.name === undefined ? 'job' : str(o.name, `${where}.name`),
    data,
    testSplit: num(o.testSplit ?? 0.2, `${where}.testSplit`, 0, 1, true, false),
    scaling: oneOf(o.scaling ?? 'standard', SCALING_METHODS, `${where}.scaling`),
    model,
    loss,
    optimizer,
    schedule,
    batchSize,
    shardSize,
    epochs: int(o.epochs ?? 10, `${where}.epochs`, 1, 1e6),
    seed: int(o.seed ?? 1, `${where}.seed`, 0, 0xffffffff),
    shuffle: bool(o.shuffle ?? true, `${where}.shuffle`),
    kernel: oneOf(o.kernel ?? 'auto', KERNELS, `${where}.kernel`),
    checkpointEvery: int(o.checkpointEvery ?? 0, `${where}.checkpointEvery`, 0, 1e9),
    gradientEncoding: oneOf(o.gradientEncoding ?? 'f32', ['f32', 'bf16'] as const, `${where}.gradientEncoding`),
  };
}

/** The data block is libs/data's to check; in a spec its faults are the spec's. */
function dataSection(v: unknown, where: string): DataSource {
  try {
    return validateDataSource(v, where);
  } catch (e) {
    throw e instanceof DataError ? new SpecError(e.message, { cause: e }) : e;
  }
}

/** Hidden layers as sizes or {size, activation} (default activation `model.activation`), output, init. */
function modelSection(v: unknown, where: string): JobSpec['model'] {
  const model = object(v, where);
  onlyKeys(model, ['hidden', 'activation', 'output', 'init'], where);
  const defaultAct = oneOf(model.activation ?? 'tanh', ACTIVATIONS, `${where}.activation`);
  const hiddenRaw = model.hidden ?? [16];
  if (!Array.isArray(hiddenRaw))
    throw new SpecError(
      `${where}.hidden: expected an array of layer sizes or {size, activation}, got ${describeValue(hiddenRaw)}`,
    );
  const hidden = hiddenRaw.map((h: unknown, i: number) => {
    const f = `${where}.hidden[${i}]`;
    if (typeof h === 'number') return { size: int(h, f, 1, 1 << 16), activation: defaultAct };
    const ho = object(h, f);
    onlyKeys(ho, ['size', 'activation'], f);
    return {
      size: int(ho.size, `${f}.size`, 1, 1 << 16),
      activation: oneOf(ho.activation ?? defaultAct, ACTIVATIONS, `${f}.activation`),
    };
  });
  const output = model.output === undefined ? undefined : oneOf(model.output, ACTIVATIONS, `${where}.output`);
  return { hidden, output, init: oneOf(model.init ?? 'auto', INITS, `${where}.init`) };
}

/** The optimizer's type decides which of its constants may appear. */
function optimizerSection(v: unknown, where: string): OptimizerSpec {
  const opt = object(v, where);
  const type = oneOf(opt.type ?? 'adam', OPTIMIZERS, `${where}.type`);
  const constants = type === 'adam' ? ['beta1', 'beta2', 'eps'] : type === 'sgd' ? [] : ['momentum'];
  onlyKeys(opt, ['type', 'lr', 'weightDecay', ...constants], where);
  const optimizer: OptimizerSpec = {
    type,
    lr: num(opt.lr ?? (type === 'adam' ? 0.001 : 0.01), `${where}.lr`, 0, 10, false),
  };
  if (opt.weightDecay !== undefined) optimizer.weightDecay = num(opt.weightDecay, `${where}.weightDecay`, 0, 1, true);
  if (opt.momentum !== undefined) optimizer.momentum = num(opt.momentum, `${where}.momentum`, 0, 1, true, false);
  if (opt.beta1 !== undefined) optimizer.beta1 = num(opt.beta1, `${where}.beta1`, 0, 1, true, false);
  if (opt.beta2 !== undefined) optimizer.beta2 = num(opt.beta2, `${where}.beta2`, 0, 1, true, false);
  if (opt.eps !== undefined) optimizer.eps = num(opt.eps, `${where}.eps`, 0, 1, false);
  return optimizer;
}

/** The schedule's type decides which of its settings may appear. */
function scheduleSection(v: unknown, where: string): ScheduleSpec {
  const sch = object(v, where);
  const type = oneOf(sch.type ?? 'constant', SCHEDULES, `${where}.type`);
  const settings = type === 'step' ? ['stepSize', 'gamma'] : type === 'cosine' ? ['minLr'] : [];
  onlyKeys(sch, ['type', 'warmupSteps', ...settings], where);
  const schedule: ScheduleSpec = { type };
  if (sch.warmupSteps !== undefined) schedule.warmupSteps = int(sch.warmupSteps, `${where}.warmupSteps`, 0, 1e9);
  if (sch.stepSize !== undefined) schedule.stepSize = int(sch.stepSize, `${where}.stepSize`, 1, 1e9);
  if (sch.gamma !== undefined) schedule.gamma = num(sch.gamma, `${where}.gamma`, 0, 1, false);
  if (sch.minLr !== undefined) schedule.minLr = num(sch.minLr, `${where}.minLr`, 0, 10, true);
  return schedule;
}

/** Batch and shard size: a shard is a slice of one batch, so it cannot be the larger. */
function batching(o: Record<string, unknown>, where: string): Pick<JobSpec, 'batchSize' | 'shardSize'> {
  const batchSize =
    o.batchSize === 'full' ? 'full' : int(o.batchSize ?? 32, `${where}.batchSize`, 1, 1 << 20, '"full"');
  const shardSize = int(
    o.shardSize ?? (batchSize === 'full' ? 256 : Math.min(32, batchSize)),
    `${where}.shardSize`,
    1,
    1 << 16,
  );
  if (batchSize !== 'full' && shardSize > batchSize)
    throw new SpecError(`${where}.shardSize: ${shardSize} is larger than batchSize ${batchSize}`);
  return { batchSize, shardSize };
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new SpecError(`${where}: expected an object, got ${describeValue(v)}`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (allowed.includes(k)) continue;
    const near = closest(k, allowed);
    throw new SpecError(
      `${where}: unknown key "${k}"${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`,
    );
  }
}

/** The allowed key a misspelt one most likely meant: case aside, at most 2 edits (1 for short keys). */
function closest(key: string, allowed: string[]): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined,
    bestDistance = key.length <= 4 ? 2 : 3;
  for (const a of allowed) {
    const d = editDistance(k, a.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [a, d];
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], where: string): T {
  if (typeof v !== 'string' || !allowed.includes(v as T))
    throw new SpecError(`${where}: expected one of ${allowed.join(', ')}, got ${describeValue(v)}`);
  return v as T;
}

function int(v: unknown, where: string, min: number, max: number, alt?: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SpecError(
      `${where}: expected an integer from ${min} to ${max}${alt ? ` or ${alt}` : ''}, got ${describeValue(v)}`,
    );
  }
  return v;
}

function num(v: unknown, where: string, min: number, max: number, minIncl: boolean, maxIncl = true): number {
  const ok =
    typeof v === 'number' && Number.isFinite(v) && (minIncl ? v >= min : v > min) && (maxIncl ? v <= max : v < max);
  if (!ok)
    throw new SpecError(
      `${where}: expected a number in ${minIncl ? '[' : '('}${min}, ${max}${maxIncl ? ']' : ')'}, got ${describeValue(v)}`,
    );
  return v as number;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 200)
    throw new SpecError(`${where}: expected a non-empty string, got ${describeValue(v)}`);
  return v;
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') throw new SpecError(`${where}: expected true or false, got ${describeValue(v)}`);
  return v;
}
