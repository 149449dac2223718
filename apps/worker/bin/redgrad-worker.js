#!/usr/bin/env node
// Runs the compiled JavaScript (dist/, from `npm run build`; always there in the installed package
// and the Docker image). A checkout that has not been built runs the TypeScript sources through tsx,
// a devDependency, so development and tests need no build step.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('node:module');
  // Workspace packages resolve to their src/*.ts through the "redgrad-source" export condition.
  register(
    'data:text/javascript,export const resolve=(s,c,n)=>n(s,{...c,conditions:[...c.conditions,"redgrad-source"]})',
  );
  (await import('tsx/esm/api')).register();
  await import('../src/main.ts');
}
