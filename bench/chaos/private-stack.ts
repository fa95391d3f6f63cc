/**
 * Servers of a fault's own, started by the project's stack launcher on free ports with their own
 * state directory, so that a fault can kill, freeze or restart them while other engineers' tests
 * run against the shared stack. While a private stack is up, this process's environment points
 * at it (and so do the `cairn` children it spawns and the scratch namespaces it makes); removing
 * it restores the environment. One private stack at a time, then.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerName } from '../../deploy/local/servers';
import { stackDown, stackUp } from '../../deploy/local/stack';
import { readSettings } from '../../services/config/environment';
import { freePort } from './free-port';

/** The ports each server listens on, by the launcher's environment variables. */
const portVariables: Record<ServerName, string[]> = {
  temporal: ['CAIRN_TEMPORAL_PORT', 'CAIRN_TEMPORAL_UI_PORT'],
  kafka: ['CAIRN_KAFKA_PORT', 'CAIRN_KAFKA_CONTROLLER_PORT'],
  elasticsearch: ['CAIRN_ELASTICSEARCH_PORT', 'CAIRN_ELASTICSEARCH_TRANSPORT_PORT'],
  nats: ['CAIRN_NATS_PORT'],
};

export interface PrivateServer {
  /** SIGKILLs the server's process group: no clean shutdown, as in a crash. */
  kill(): void;
  /** SIGSTOP: the server holds its connections but answers nothing, as a hung or swapped-out host. */
  freeze(): void;
  thaw(): void;
  /** Starts it again on the same ports and state, and waits until its health check passes. */
  restart(): Promise<void>;
}

export interface PrivateStack {
  server(name: ServerName): PrivateServer;
  remove(): Promise<void>;
}

export async function startPrivateStack(names: ServerName[]): Promise<PrivateStack> {
  const stateDir = await mkdtemp(join(tmpdir(), 'cairn-chaos-'));
  const overrides: Record<string, string> = { CAIRN_STATE: stateDir };
  for (const name of names)
    for (const variable of portVariables[name]) overrides[variable] = String(await freePort());
  const saved = Object.fromEntries(Object.keys(overrides).map((k) => [k, process.env[k]]));
  Object.assign(process.env, overrides);
  const settings = readSettings();
  const pids = new Map<ServerName, number>();
  const up = async (only: ServerName[]) => {
    for (const status of await stackUp(settings, only))
      if (status.pid !== undefined) pids.set(status.name as ServerName, status.pid);
  };
  const restore = async () => {
    await stackDown(settings, names);
    await rm(stateDir, { recursive: true, force: true });
    for (const [variable, value] of Object.entries(saved))
      if (value === undefined) delete process.env[variable];
      else process.env[variable] = value;
  };
  try {
    await up(names);
  } catch (error) {
    await restore();
    throw error;
  }
  const signal = (name: ServerName, sig: NodeJS.Signals) => {
    const pid = pids.get(name);
    if (pid === undefined) throw new Error(`the private ${name} is not running`);
    // The launcher starts each server as the leader of its own process group.
    process.kill(-pid, sig);
    return pid;
  };
  return {
    server: (name) => ({
      kill() {
        signal(name, 'SIGKILL');
        pids.delete(name);
      },
      freeze: () => void signal(name, 'SIGSTOP'),
      thaw: () => void signal(name, 'SIGCONT'),
      restart: () => up([name]),
    }),
    async remove() {
      // A frozen server ignores SIGTERM until it is thawed.
      for (const name of pids.keys()) signal(name, 'SIGCONT');
      await restore();
    },
  };
}
