/** `cairn` commands as child processes in a namespace: how tests and benchmarks run them as deployed. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type CairnSettings, repositoryRoot } from './environment';

/** Node's arguments that load TypeScript as `bin/cairn` does, for children started with their own node flags. */
export const tsxImport = ['--import', join(repositoryRoot, 'node_modules/tsx/dist/loader.mjs')] as const;
export const cairnEntry = join(repositoryRoot, 'cli/main.ts');

export function spawnCairn(settings: CairnSettings, args: string[]): ChildProcess {
  return spawn(join(repositoryRoot, 'bin/cairn'), args, {
    env: {
      ...process.env,
      CAIRN_PREFIX: settings.prefix,
      CAIRN_STORE: settings.storeDir,
      CAIRN_LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Resolves once the child has exited, including when it already had. */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}
