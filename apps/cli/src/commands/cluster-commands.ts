import type { Command } from 'commander';

/** Commands that talk to a Redis cluster (submit, watch, status, …). */
export function registerClusterCommands(_program: Command): void {}
