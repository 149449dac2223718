#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx registers its loader in this one process.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
