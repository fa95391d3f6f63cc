/**
 * One writer per store: two projectors appending to the same files would corrupt them.
 *
 * The lock file holds the owner's pid and is created exclusively: the pid is written to a
 * private file first, then hard-linked to the lock's name, which fails if the lock exists, so no
 * reader ever sees a lock without its pid. A lock whose pid is dead is stale: it is removed (if it
 * still holds that dead pid) and the exclusive create is tried again, so of two processes taking
 * over the same stale lock one wins and the other sees the winner's live pid.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class StoreInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the store in ${dir} is in use by process ${pid} (stop 'cairn consume' or the other command first)`,
    );
    this.name = 'StoreInUseError';
  }
}

export interface StoreLock {
  release(): Promise<void>;
}

const lockFile = 'lock';

export async function acquireStoreLock(dir: string): Promise<StoreLock> {
  const path = join(dir, lockFile);
  const mine = join(dir, `${lockFile}.${process.pid}.${randomUUID().slice(0, 8)}`);
  await writeFile(mine, String(process.pid));
  try {
    // A round after each removal of a stale lock (or a lock released while it was read).
    for (let round = 0; round < 3; round++) {
      if (await linkExclusively(mine, path)) return { release: () => rm(path, { force: true }) };
      const holder = await readFile(path, 'utf8').catch(() => '');
      const pid = Number(holder);
      // The same process opening the store again (a reopen in one process) shares its lock.
      if (pid === process.pid) return { release: () => rm(path, { force: true }) };
      if (Number.isInteger(pid) && pid > 0 && processIsAlive(pid)) throw new StoreInUseError(dir, pid);
      if ((await readFile(path, 'utf8').catch(() => '')) === holder) await rm(path, { force: true });
    }
    throw new Error(`could not take over the stale lock ${path}: another process keeps replacing it`);
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

async function linkExclusively(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
