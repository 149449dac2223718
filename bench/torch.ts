/**
 * PyTorch on the same training cases (bench/torch_mlp.py), one thread, for the redgrad/torch ratios.
 *   node --import tsx bench/torch.ts
 * Never fails the bench: without an importable torch it returns no figures and says why.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LEARNING_RATE, MODELS, TIMING } from './cases.js';

const run = promisify(execFile);

/** The PATH one may be a pyenv shim without torch while Debian's python3-torch sits under /usr/bin. */
const PYTHONS = ['python3', '/usr/bin/python3'];
const SCRIPT = fileURLToPath(new URL('./torch_mlp.py', import.meta.url));

export interface TorchBench {
  /** `train.torch.<model>.b<batch>.samplesPerSec` (best window) and `….median`. */
  figures: Record<string, number>;
  /** Human-readable lines: interpreter, torch version, BLAS loaded — or why torch is not available. */
  notes: string[];
  available: boolean;
}

/**
 * Which OpenBLAS kernel torch runs. Some hosts pin OpenBLAS to a core type and L2 size (this one
 * sets OPENBLAS_CORETYPE=Haswell, an AVX2 kernel, because older OpenBLAS builds misbehave on newer
 * CPUs). 'autodetect' drops both so OpenBLAS picks its own kernel for this CPU (AVX-512 where there
 * is one): the strongest opponent, and the figure the ratios use. 'host' keeps the host's settings;
 * it is measured too when they are set. torch.set_num_threads(1) does not reach a "generic" BLAS
 * such as Debian's OpenBLAS, so its thread pool is pinned to one thread as well. Only the child's
 * environment changes.
 */
export type TorchBlas = 'autodetect' | 'host';

function torchEnv(blas: TorchBlas): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: '1',
    OMP_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
  if (blas === 'autodetect') {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  return env;
}

/** True when the host pins OpenBLAS, so the 'host' run differs from 'autodetect'. */
export const hostPinsOpenBlas = (): boolean => Boolean(process.env.OPENBLAS_CORETYPE || process.env.OPENBLAS_L2_SIZE);

/** Debian's netlib libblas3 is the unoptimised reference: torch on it is not a fair opponent. */
function describeBlas(loaded: string[]): string {
  const blas = loaded.find((p) => /blas/.test(p));
  if (!blas) return 'no BLAS library mapped';
  if (/openblas/.test(blas)) return `OpenBLAS (${blas})`;
  if (/\/blas\/libblas\.so/.test(blas))
    return `netlib reference BLAS, unoptimised (${blas}); install libopenblas0-pthread for a fair comparison`;
  return blas;
}

async function findTorchPython(env: NodeJS.ProcessEnv): Promise<{ python?: string; reason: string }> {
  const failures: string[] = [];
  for (const python of PYTHONS) {
    try {
      await run(python, ['-c', 'import torch'], { env, timeout: 60_000 });
      return { python, reason: '' };
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      const last = err.stderr?.trim().split('\n').pop();
      failures.push(`${python}: ${err.code === 'ENOENT' ? 'not found' : last || err.message}`);
    }
  }
  return { reason: failures.join('; ') };
}

interface TorchOutput {
  info: {
    torch: string;
    threads: number;
    mkl: boolean;
    mkldnn: boolean;
    threadEnv: Record<string, string>;
    build: string[];
    loadedLibraries: string[];
    openblasConfig?: string;
    openblasCore?: string;
    openblasThreads?: number;
  };
  results: Record<string, number>;
}

/**
 * Figures are keyed `train.torch.…` for 'autodetect' and `train.torch-host.…` for 'host'.
 */
export async function benchTorch(blas: TorchBlas = 'autodetect'): Promise<TorchBench> {
  const env = torchEnv(blas);
  const { python, reason } = await findTorchPython(env);
  if (!python) return { figures: {}, notes: [`torch: not available (${reason})`], available: false };
  const cases = JSON.stringify({ models: MODELS, lr: LEARNING_RATE, timing: TIMING });
  let out: TorchOutput;
  try {
    const { stdout } = await run(python, [SCRIPT, cases], { env, timeout: 180_000, maxBuffer: 1 << 20 });
    out = JSON.parse(stdout) as TorchOutput;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const last = err.stderr?.trim().split('\n').slice(-3).join(' | ');
    return {
      figures: {},
      notes: [`torch: not available (${python} ${SCRIPT} failed: ${last || err.message})`],
      available: false,
    };
  }
  const i = out.info;
  const notes = [
    `torch (${blas === 'autodetect' ? 'OpenBLAS picks its kernel' : "this host's OpenBLAS settings"}) ${i.torch} via ${python}, ${i.threads} thread(s); BLAS: ${describeBlas(i.loadedLibraries)}`,
    `  build: ${i.build.join(', ')}; mkl ${i.mkl}, mkldnn ${i.mkldnn}`,
    `  child env: ${blas === 'autodetect' ? 'OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset; ' : ''}${Object.entries(
      i.threadEnv,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    `  loaded: ${i.loadedLibraries.join(', ')}`,
  ];
  if (i.openblasCore)
    notes.push(`  OpenBLAS kernel: ${i.openblasCore}, ${i.openblasThreads} thread(s) (${i.openblasConfig})`);
  const figures =
    blas === 'autodetect'
      ? out.results
      : Object.fromEntries(
          Object.entries(out.results).map(([k, v]) => [k.replace(/^train\.torch\./, 'train.torch-host.'), v]),
        );
  return { figures, notes, available: true };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const blas of hostPinsOpenBlas() ? (['autodetect', 'host'] as const) : (['autodetect'] as const)) {
    const { figures, notes } = await benchTorch(blas);
    for (const line of notes) console.log(line);
    for (const [key, value] of Object.entries(figures)) console.log(key.padEnd(56), value.toFixed(0));
  }
}
