/**
 * A Kafka broker of a test's own, started by the project's stack launcher on free ports with its
 * own state directory, so that a test may kill it without disturbing the shared stack. The
 * environment of this test process (and of the `cairn` children it spawns) points at it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackDown, stackUp } from '../../deploy/local/stack';
import { readSettings } from '../../services/config/environment';
import { freePort } from '../support/free-port';

export interface PrivateBroker {
  /** SIGKILLs the broker (and its process group): no clean shutdown, as in a crash. */
  kill(): void;
  /** Starts it again on the same ports and data, and waits until it is healthy. */
  restart(): Promise<void>;
  remove(): Promise<void>;
}

export async function startPrivateBroker(): Promise<PrivateBroker> {
  const stateDir = await mkdtemp(join(tmpdir(), 'cairn-test-kafka-'));
  process.env.CAIRN_KAFKA_PORT = String(await freePort());
  process.env.CAIRN_KAFKA_CONTROLLER_PORT = String(await freePort());
  process.env.CAIRN_STATE = stateDir;
  const settings = readSettings();
  let pid: number | undefined;
  const up = async () => {
    const [kafka] = await stackUp(settings, ['kafka']);
    pid = kafka.pid;
  };
  await up();
  return {
    kill() {
      if (pid === undefined) throw new Error('the private broker is not running');
      // The launcher starts each server as the leader of its own process group.
      process.kill(-pid, 'SIGKILL');
      pid = undefined;
    },
    restart: up,
    async remove() {
      await stackDown(settings, ['kafka']);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
