// The `imagebatch` command line.
import { Command, InvalidArgumentError } from 'commander';
import { TemporalCliNotFound } from '../temporal/find-cli';
import { TemporalUnreachable } from '../temporal/connection';
import { devServerCommand } from './commands/dev-server';
import { addSimulatorCommand } from './commands/simulator';
import { action } from './action';
import { EXIT, UsageError } from './exit-codes';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('imagebatch')
    .description('Durable batch image generation on Temporal')
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander's own usage errors (unknown option, bad argument) exit 2, as every bad input does.
      process.exit(err.exitCode === 0 ? 0 : EXIT.badInput);
    });

  program
    .command('dev-server')
    .description('start a local Temporal dev server with imagebatch search attributes registered')
    .option('--port <port>', 'gRPC port', intArg(1, 65535), 7233)
    .option('--ui-port <port>', 'Web UI port', intArg(1, 65535), 8233)
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--db <file>', 'SQLite file to keep state across restarts (in-memory when absent)')
    .action(action(devServerCommand));

  addSimulatorCommand(program);

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`imagebatch: ${err.message}`);
      process.exitCode = EXIT.badInput;
    } else if (err instanceof TemporalUnreachable || err instanceof TemporalCliNotFound) {
      console.error(`imagebatch: ${err.message}`);
      process.exitCode = EXIT.temporalUnreachable;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  }
}

if (require.main === module || process.argv[1]?.endsWith('imagebatch.js') || process.argv[1]?.endsWith('imagebatch')) {
  void main();
}
