// The package's API lives in the @redgrad/api workspace, bundled inside this package.
export * from '@redgrad/api';
