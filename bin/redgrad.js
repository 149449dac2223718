#!/usr/bin/env node
// The installed package's redgrad: the compiled @redgrad/cli, bundled inside this package.
// (In a checkout, apps/cli/bin/redgrad.js also runs the sources when there is no build.)
import '@redgrad/cli/main';
