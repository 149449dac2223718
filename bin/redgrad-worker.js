#!/usr/bin/env node
// The installed package's redgrad-worker: the compiled @redgrad/worker, bundled inside this package.
// (In a checkout, apps/worker/bin/redgrad-worker.js also runs the sources when there is no build.)
import '@redgrad/worker/main';
