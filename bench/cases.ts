/**
 * The training cases shared by bench/training.ts and bench/torch.ts (which hands them to
 * bench/torch_mlp.py as JSON), so both sides train the same models on the same amount of data and
 * are timed by the same rule.
 */

export interface BenchModel {
  /** Layer sizes joined by "-": the figure-name part, e.g. "784-256-128-10". */
  name: string;
  features: number;
  classes: number;
  hidden: Array<{ size: number; activation: 'relu' | 'tanh' }>;
  /** Synthetic training samples: x uniform in [0, 1), labels uniform one-hot. */
  samples: number;
  batches: number[];
}

export const MODELS: BenchModel[] = [
  {
    name: '784-256-128-10',
    features: 784,
    classes: 10,
    hidden: [
      { size: 256, activation: 'relu' },
      { size: 128, activation: 'relu' },
    ],
    samples: 8192,
    batches: [32, 128, 512],
  },
  {
    name: '4-16-3',
    features: 4,
    classes: 3,
    hidden: [{ size: 16, activation: 'tanh' }],
    samples: 4096,
    batches: [16],
  },
];

/** Both sides use Adam at this rate (β1 0.9, β2 0.999, ε 1e-8) and softmax + cross-entropy. */
export const LEARNING_RATE = 0.001;

/**
 * Timing rule: run WARMUP_MS (lets V8 tier the wasm and JS up to TurboFan; lets torch settle its
 * allocator), then windows of at least WINDOW_MS, ending on a step boundary, for CASE_MS. The best
 * window is the figure (on a shared machine the slow ones measure the neighbours); the median is
 * printed beside it.
 */
export const TIMING = { warmupMs: 300, windowMs: 200, caseMs: 1500 };

/** Samples/s of each timing window → best and median. */
export function summarize(windowRates: number[]): { best: number; median: number } {
  const sorted = windowRates.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { best: sorted[sorted.length - 1], median };
}

export const trainKey = (kernel: string, model: string, batch: number) =>
  `train.${kernel}.${model}.b${batch}.samplesPerSec`;
