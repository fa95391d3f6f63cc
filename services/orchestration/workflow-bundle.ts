/**
 * The workflows' bundle, built once per version of the code and kept under the cache directory.
 * A Worker given only `workflowsPath` runs webpack over the workflows at start: 2.7 s of CPU in a
 * fresh process on this machine, paid by every `cairn worker`, every `cairn serve` replica (the
 * demo starts three workers at once) and every test that starts a worker.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repositoryRoot } from '../config/environment';

/**
 * What a bundle can contain: the workflows import only the SDK, `temporal.config` and pure
 * modules of services/ (which import schemas/). Hashing all of them, not the exact import graph,
 * may rebuild for a change the bundle does not hold, never reuse a bundle the code has outgrown.
 */
const sourceRoots = ['workflows', 'services', 'schemas', 'temporal.config.ts'];
const sdkPackages = ['@temporalio/workflow', '@temporalio/worker'];

async function sourceFiles(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return [path];
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? sourceFiles(join(path, e.name)) : e.name.endsWith('.ts') ? [join(path, e.name)] : [],
    ),
  );
  return nested.flat();
}

/** The code cannot change under a running process: one hash serves every Worker it creates. */
let sourceHashOnce: Promise<string> | undefined;
const sourceHash = (): Promise<string> => {
  sourceHashOnce ??= hashSources().catch((error: unknown) => {
    sourceHashOnce = undefined;
    throw error;
  });
  return sourceHashOnce;
};

async function hashSources(): Promise<string> {
  const hash = createHash('sha256');
  for (const name of sdkPackages)
    hash.update(`${name}@${(require(`${name}/package.json`) as { version: string }).version}\n`);
  const files = (await Promise.all(sourceRoots.map((r) => sourceFiles(join(repositoryRoot, r)))))
    .flat()
    .sort();
  for (const file of files) {
    hash.update(`${relative(repositoryRoot, file)}\n`);
    hash.update(await readFile(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** `Worker.create({ workflowBundle })`: the cached bundle of this code, built if there is none. */
export async function workflowBundle(cacheDir: string): Promise<{ codePath: string }> {
  const dir = join(cacheDir, 'workflow-bundles');
  const codePath = join(dir, `${await sourceHash()}.js`);
  if (
    await access(codePath)
      .then(() => true)
      .catch(() => false)
  )
    return { codePath };
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
  await mkdir(dir, { recursive: true });
  // Written aside and renamed: processes starting together each build, and none reads half a file.
  const partial = `${codePath}.${process.pid}.partial`;
  await writeFile(partial, code);
  await rename(partial, codePath);
  // Bundles of earlier code: an hour after their last build no process is still starting from one.
  const stale = Date.now() - 3_600_000;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const built = await stat(path).then(
      (s) => s.mtimeMs,
      () => Date.now(),
    );
    if (path !== codePath && built < stale) await rm(path, { force: true });
  }
  return { codePath };
}
