import { InvalidArgumentError } from 'commander';

/** commander argParser for a count: a whole number from 1 to `max`, else a usage error (exit 1). */
export function positiveInt(max = 1_000_000): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}, got "${value}"`);
    }
    return n;
  };
}
