import { RedgradError } from '@redgrad/errors';

/**
 * Why a training run stopped. 'diverged' (the gradient or loss went non-finite) is the spec's to fix
 * (learning rate, scaling); the others are faults of the run itself (a backend breaking its contract,
 * a checkpoint of another model, shards that no worker computes).
 */
export type TrainingErrorCode = 'diverged' | 'training-failed';

export class TrainingError extends RedgradError {
  override name = 'TrainingError';
  declare readonly code: TrainingErrorCode;

  constructor(message: string, code: TrainingErrorCode = 'training-failed', options?: ErrorOptions) {
    super(code === 'diverged' ? 'user' : 'internal', code, message, options);
  }
}
