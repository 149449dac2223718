#!/usr/bin/env node
// The installed package's redgrad-coordinator: the compiled @redgrad/coordinator, bundled inside this package.
// (In a checkout, apps/coordinator/bin/redgrad-coordinator.js also runs the sources when there is no build.)
import '@redgrad/coordinator/main';
