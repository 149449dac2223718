export const SCHEDULES = ['constant', 'step', 'cosine'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

export interface ScheduleSpec {
  type: ScheduleKind;
  /** step: multiply by gamma every stepSize steps (defaults 0.1 and 1000). */
  stepSize?: number;
  gamma?: number;
  /** cosine: the floor the rate decays to by the last step (default 0). */
  minLr?: number;
  /** linear warm-up from lr/warmupSteps to lr over the first warmupSteps steps (default 0). */
  warmupSteps?: number;
}

/**
 * Learning rate at optimizer step `step` (0-based) of `totalSteps`.
 * Cosine annealing follows Loshchilov & Hutter (2017) without restarts; warm-up follows Goyal et al. (2017).
 */
export function learningRate(base: number, s: ScheduleSpec, step: number, totalSteps: number): number {
  const warm = s.warmupSteps ?? 0;
  if (step < warm) return (base * (step + 1)) / warm;
  const k = step - warm;
  switch (s.type) {
    case 'constant':
      return base;
    case 'step':
      return base * Math.pow(s.gamma ?? 0.1, Math.floor(k / (s.stepSize ?? 1000)));
    case 'cosine': {
      const span = Math.max(1, totalSteps - warm);
      const min = s.minLr ?? 0;
      return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * Math.min(1, k / span)));
    }
  }
}
