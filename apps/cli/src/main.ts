import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { RedgradError } from '@redgrad/errors';
import { exitCodeOf } from './errors.js';
import { positiveInt } from './options.js';
import { watchStdout } from './closed-stdout.js';
import { trainCommand } from './commands/train.js';
import { evaluateCommand, predictCommand } from './commands/predict.js';
import { registerClusterCommands } from './commands/cluster-commands.js';
import { EXPORT_FORMATS, exportModelCommand } from './commands/export-model.js';

watchStdout();

// Every workspace carries the product's version (test/package.test.ts holds them equal), and this
// file sits one folder below the CLI's package.json in src/ and in dist/ alike.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('redgrad')
  .description('Distributed mini-batch training of neural networks over Redis queues')
  .version(version, '-V, --version', 'print the redgrad version')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

program
  .command('train')
  .description('train a job in this process (no Redis): the reference for distributed runs')
  .argument('<job>', 'job spec JSON file')
  .option('--local', 'train in this process (required)')
  .option('-o, --out <model.json>', 'write the trained model file')
  .option('--init <model.json>', "start from this model's weights (warm start)")
  .addOption(
    new Option('--encoding <kind>', 'weights in the model file: base64 (exact, compact) or arrays')
      .choices(['base64', 'arrays'])
      .default('base64'),
  )
  .option('--every <n>', 'an epoch line every n epochs (default: about 20 lines)', positiveInt())
  .option('--json', 'print one JSON summary on stdout')
  .action((job: string, flags) => trainCommand(job, flags));

program
  .command('predict')
  .description('predict every row of an unlabelled CSV, or every image of an IDX images file')
  .argument('<model>', 'model file')
  .argument(
    '<data>',
    "CSV with a header row (feature columns by the model's feature names, else all columns), or IDX images (raw or .gz)",
  )
  .option('--json', 'JSON lines instead of CSV')
  .action((model: string, data: string, flags) => predictCommand(model, data, flags));

program
  .command('evaluate')
  .description('loss, accuracy and confusion matrix (classification) or MSE and R² (regression) on labelled data')
  .argument('<model>', 'model file')
  .argument('<data>', 'labelled CSV, or an IDX images file with --labels')
  .option('--label <column>', 'CSV label column name or index (default: the last column)')
  .option('--labels <file>', 'IDX labels file for an IDX images file')
  .option('--json', 'print one JSON object')
  .action((model: string, data: string, flags) => evaluateCommand(model, data, flags));

program
  .command('export-model')
  .description('write a model file as ONNX or as a TensorFlow.js layers model, input scaling included')
  .argument('<model>', 'model file')
  .addOption(
    new Option('--format <format>', 'onnx (one .onnx file) or tfjs (a directory: model.json + weights.bin)')
      .choices(EXPORT_FORMATS)
      .makeOptionMandatory(),
  )
  .requiredOption('-o, --out <path>', 'the .onnx file, or the tfjs directory (created if missing)')
  .option('--json', 'print one JSON summary')
  .action((model: string, flags) => exportModelCommand(model, flags));

registerClusterCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = exitCodeOf(e);
  // commander has already printed help or its usage error
  if (!(e instanceof CommanderError)) {
    process.stderr.write(`redgrad: ${e instanceof Error ? e.message : String(e)}\n`);
    const internal = !(e instanceof RedgradError && e.kind === 'user');
    if (internal && process.env.REDGRAD_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  }
}
