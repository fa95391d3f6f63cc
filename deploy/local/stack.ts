/**
 * `cairn stack up|down|status`: runs the local servers as plain processes, each recorded by pid
 * in the state directory, so that `down` stops exactly what `up` started and `up` twice is
 * harmless. Remote servers (named by env) are only probed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CairnSettings, repositoryRoot } from '../../services/config/environment';
import { redactSecrets } from '../../services/config/redaction';
import { type ServerDefinition, type ServerName, stackServers } from './servers';

export interface ServerStatus {
  name: string;
  address: string;
  where: 'local' | 'remote';
  healthy: boolean;
  detail: string;
  pid?: number;
}

const startTimeoutMs = 180_000;

export function installStack(settings: CairnSettings, servers: ServerName[]): void {
  const result = spawnSync('bash', [join(repositoryRoot, 'deploy/local/install.sh'), ...servers], {
    stdio: 'inherit',
    env: { ...process.env, CAIRN_CACHE: settings.cacheDir },
  });
  if (result.status !== 0) throw new Error(`installing the local stack failed (exit ${result.status})`);
}

export async function stackUp(settings: CairnSettings, only?: ServerName[]): Promise<ServerStatus[]> {
  const servers = selected(settings, only);
  const local = servers.filter((s) => s.isLocal).map((s) => s.name);
  if (local.length > 0) installStack(settings, local);
  const started = await Promise.all(servers.map((s) => (s.isLocal ? startLocal(settings, s) : undefined)));
  return Promise.all(servers.map((s, i) => waitHealthy(s, started[i], settings)));
}

export async function stackDown(settings: CairnSettings, only?: ServerName[]): Promise<string[]> {
  const report: string[] = [];
  for (const server of selected(settings, only).reverse()) {
    if (!server.isLocal) continue;
    const pid = await recordedPid(settings, server);
    if (pid === undefined) {
      report.push(`${server.name}: not running`);
      continue;
    }
    await stopProcess(pid);
    await rm(pidFile(settings, server), { force: true });
    report.push(`${server.name}: stopped (pid ${pid})`);
  }
  return report;
}

export async function stackStatus(settings: CairnSettings, only?: ServerName[]): Promise<ServerStatus[]> {
  return Promise.all(
    selected(settings, only).map(async (server) => {
      const pid = server.isLocal ? await recordedPid(settings, server) : undefined;
      try {
        return status(server, true, await server.probe(), pid);
      } catch (error) {
        const why =
          pid === undefined && server.isLocal
            ? 'not running'
            : redactSecrets(errorMessage(error), settings.env);
        return status(server, false, why, pid);
      }
    }),
  );
}

export function formatStatus(rows: ServerStatus[]): string {
  return rows
    .map((r) => {
      const mark = r.healthy ? 'healthy ' : 'DOWN    ';
      const pid = r.pid === undefined ? '' : ` pid ${r.pid}`;
      return `${r.name.padEnd(14)}${mark}${r.address.padEnd(26)}${r.where}${pid}  ${r.detail}`;
    })
    .join('\n');
}

async function startLocal(settings: CairnSettings, server: ServerDefinition): Promise<number> {
  const running = await recordedPid(settings, server);
  if (running !== undefined) return running;
  if (await portAcceptsConnections(server.port)) {
    throw new Error(
      `${server.name}: port ${server.port} is held by a process Cairn did not start; ` +
        `stop it or choose another port (CAIRN_${server.name.toUpperCase()}_PORT)`,
    );
  }
  const dir = serverDir(settings, server);
  await mkdir(dir, { recursive: true });
  await server.prepare(dir);
  const launch = server.launch(dir);
  const log = openSync(join(dir, 'server.out.log'), 'a');
  const child = spawn(launch.file, launch.args, {
    cwd: dir,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...launch.env },
  });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${server.name}: could not start ${launch.file}`);
  child.unref();
  await writeFile(pidFile(settings, server), `${pid}\n${launch.file}\n`);
  return pid;
}

async function waitHealthy(
  server: ServerDefinition,
  pid: number | undefined,
  settings: CairnSettings,
): Promise<ServerStatus> {
  const deadline = Date.now() + startTimeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (pid !== undefined && !isAlive(pid)) {
      const log = join(serverDir(settings, server), 'server.out.log');
      throw new Error(`${server.name} exited during start-up; see ${log}`);
    }
    try {
      return status(server, true, await server.probe(), pid);
    } catch (error) {
      lastError = error;
      await sleep(300);
    }
  }
  const why = redactSecrets(errorMessage(lastError), settings.env);
  throw new Error(`${server.name} not healthy after ${startTimeoutMs / 1000}s: ${why}`);
}

function status(server: ServerDefinition, healthy: boolean, detail: string, pid?: number): ServerStatus {
  return {
    name: server.name,
    address: server.address,
    where: server.isLocal ? 'local' : 'remote',
    healthy,
    detail,
    pid,
  };
}

function selected(settings: CairnSettings, only: ServerName[] | undefined): ServerDefinition[] {
  const servers = stackServers(settings);
  return only === undefined || only.length === 0 ? servers : servers.filter((s) => only.includes(s.name));
}

export function parseServerNames(names: string[]): ServerName[] {
  const known: ServerName[] = ['temporal', 'kafka', 'elasticsearch', 'nats'];
  for (const name of names)
    if (!known.includes(name as ServerName))
      throw new Error(`unknown server '${name}' (expected ${known.join(', ')})`);
  return names as ServerName[];
}

const serverDir = (settings: CairnSettings, server: ServerDefinition) => join(settings.stateDir, server.name);
const pidFile = (settings: CairnSettings, server: ServerDefinition) =>
  join(settings.stateDir, `${server.name}.pid`);

/** The recorded pid, only while that process is alive and is still the one we launched. */
async function recordedPid(settings: CairnSettings, server: ServerDefinition): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile(settings, server), 'utf8');
  } catch {
    return undefined;
  }
  const [pidLine, file] = text.split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || !isAlive(pid)) return undefined;
  // Guards against pid reuse after a reboot: the process must still be the program we launched
  // (the ES launcher execs java, so accept java there too).
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const program = cmdline.split('\0')[0] ?? '';
  const expected = file.split('/').pop() ?? '';
  return program.endsWith(expected) || program.endsWith('java') ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}

async function stopProcess(pid: number): Promise<void> {
  // The server was started detached as its own process group leader: signal the group so that
  // helper children (none expected, but cheap insurance) go with it.
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {}
    }
  };
  signal('SIGTERM');
  for (let waited = 0; waited < 30_000 && isAlive(pid); waited += 200) await sleep(200);
  if (isAlive(pid)) signal('SIGKILL');
  for (let waited = 0; waited < 5_000 && isAlive(pid); waited += 100) await sleep(100);
}

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
