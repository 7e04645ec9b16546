// `tenzro mpc-node`: one compute node of the `mpc` method (packages/mpc-node), run as its own process so
// its keys live apart from the CLI's; flags are passed through (see packages/mpc-node/README.md).
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

const mpcNodeEntry = join(repoRoot, 'packages', 'mpc-node', 'dist', 'main.js');

export function mpcNodeCommand(): Command {
  return new Command('mpc-node')
    .description('run an mpc compute node (--index i --total n --port p --state-dir dir [--peers i=url,…]); `tenzro mpc-node measure` prints its measurement')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .helpOption(false)
    .argument('[args...]')
    .action((args: string[]) => {
      const child = spawn(process.execPath, [mpcNodeEntry, ...args], { stdio: 'inherit' });
      const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
      process.on('SIGTERM', forward('SIGTERM'));
      process.on('SIGINT', forward('SIGINT'));
      child.on('exit', (code, signal) => {
        process.exitCode = code ?? (signal ? 1 : 0);
      });
    });
}
