/**
 * What the credential tests share: a throw-away CA with a server and a client certificate made
 * by openssl, free ports, and `cairn` run as a child with an environment of the test's own.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from '../../services/config/environment';

export interface Certificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A name in the server certificate that is not the address dialled (as behind a load balancer). */
  serverName: string;
  remove(): Promise<void>;
}

export async function makeCertificates(): Promise<Certificates> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-test-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...key,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=cairn-test-ca',
  );
  const serverName = 'frontend.cairn.test';
  const sign = async (name: string, extensions: string) => {
    openssl(
      'req',
      ...key,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=cairn-test-${name}`,
    );
    await writeFile(file(`${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  };
  await sign(
    'server',
    `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${serverName}\nextendedKeyUsage=serverAuth\n`,
  );
  await sign('client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    serverName,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `cairn …` with exactly this environment (plus PATH and HOME); its exit code and all it printed. */
export async function cairnWith(
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number; output: string }> {
  const run = promisify(execFile);
  try {
    const { stdout, stderr } = await run(join(repositoryRoot, 'bin/cairn'), args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}
