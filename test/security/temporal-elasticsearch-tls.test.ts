/**
 * Temporal mTLS and Elasticsearch credentials. The local Temporal dev server has no TLS and the
 * local Elasticsearch node has no x-pack security (deploy/local/elasticsearch/README.md), so each
 * test puts a front of its own before the shared server: for Temporal a TLS terminator that
 * requires a client certificate signed by the test's CA; for Elasticsearch an HTTPS front that
 * requires the API key or the user and password. Behind them the real servers answer. What this
 * proves is Cairn's side: the clients present the certificate, trust the CA, use the server name
 * and send the credentials; the servers' own security configuration is not exercised.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { after, before, test } from 'node:test';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { inspect } from 'node:util';
import { Connection } from '@temporalio/client';
import { searchClient } from '../../services/catalog/elasticsearch';
import { readSettings } from '../../services/config/environment';
import {
  namespaceOf,
  temporalClient,
  temporalConnection,
  workerConnection,
} from '../../services/orchestration/temporal';
import { type Certificates, cairnWith, makeCertificates } from './tls-fixture';

const shared = readSettings();
const apiKey = 'ak-Pq7-elastic-api-key';
const esPassword = 'es-Vb2-password';
let certificates: Certificates;
let temporalFront: TlsServer;
let searchFront: HttpsServer;
let temporalPort: number;
let searchPort: number;
const clientNames: string[] = [];

function listen(server: TlsServer | HttpsServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

before(async () => {
  certificates = await makeCertificates();
  const tls = {
    key: readFileSync(certificates.serverKey),
    cert: readFileSync(certificates.serverCert),
    ca: readFileSync(certificates.ca),
  };
  const [host, port] = shared.temporalAddress.split(':');
  temporalFront = createTlsServer(
    { ...tls, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    (socket: TLSSocket) => {
      clientNames.push(String(socket.getPeerCertificate().subject?.CN));
      const upstream = tcpConnect(Number(port), host);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    },
  );
  temporalPort = await listen(temporalFront);

  const upstream = new URL(shared.elasticsearchUrl);
  const accepted = [`ApiKey ${apiKey}`, `Basic ${Buffer.from(`elastic:${esPassword}`).toString('base64')}`];
  searchFront = createHttpsServer(tls, (req: IncomingMessage, res: ServerResponse) => {
    if (!accepted.includes(req.headers.authorization ?? '')) {
      res.writeHead(401, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(
        JSON.stringify({
          error: { type: 'security_exception', reason: 'unable to authenticate' },
          status: 401,
        }),
      );
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forward);
  });
  searchPort = await listen(searchFront);
});

after(async () => {
  await new Promise((resolve) => temporalFront.close(resolve));
  searchFront.closeAllConnections();
  await new Promise((resolve) => searchFront.close(resolve));
  await certificates.remove();
});

const temporalEnv = () => ({
  TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
  TEMPORAL_TLS_CA: certificates.ca,
  TEMPORAL_TLS_CERT: certificates.clientCert,
  TEMPORAL_TLS_KEY: certificates.clientKey,
  TEMPORAL_TLS_SERVER_NAME: certificates.serverName,
  TEMPORAL_NAMESPACE: namespaceOf(shared),
});

test('Temporal: the client and the worker connection present the client certificate to the namespace', async () => {
  const settings = readSettings(temporalEnv());
  assert.equal(temporalConnection(settings).tls?.serverNameOverride, certificates.serverName);
  const client = await temporalClient(settings);
  try {
    assert.equal(client.options.namespace, namespaceOf(shared));
    const described = await client.workflowService.describeNamespace({ namespace: client.options.namespace });
    assert.equal(described.namespaceInfo?.name, namespaceOf(shared));
  } finally {
    await client.connection.close();
  }
  const worker = await workerConnection(settings);
  await worker.close();
  assert.ok(clientNames.length >= 2 && clientNames.every((n) => n === 'cairn-test-client'), `${clientNames}`);
});

test('Temporal: without the client certificate the TLS front refuses the connection', async () => {
  const { TEMPORAL_TLS_CERT: _cert, TEMPORAL_TLS_KEY: _key, ...withoutCertificate } = temporalEnv();
  const settings = readSettings(withoutCertificate);
  const error = await Connection.connect({ ...temporalConnection(settings), connectTimeout: '3s' }).then(
    (c) => c.close().then(() => new Error('connected')),
    (e: Error) => e,
  );
  assert.notEqual(error.message, 'connected');
});

const searchEnv = (credentials: Record<string, string>) => ({
  ELASTICSEARCH_URL: `https://127.0.0.1:${searchPort}`,
  ELASTICSEARCH_TLS_CA: certificates.ca,
  ...credentials,
});

test('Elasticsearch: an API key or a user and password over TLS with the CA reach the cluster', async () => {
  const credentialSets: Record<string, string>[] = [
    { ELASTICSEARCH_API_KEY: apiKey },
    { ELASTICSEARCH_USERNAME: 'elastic', ELASTICSEARCH_PASSWORD: esPassword },
  ];
  for (const credentials of credentialSets) {
    const client = searchClient(readSettings(searchEnv(credentials)));
    try {
      assert.match((await client.info()).version.number, /^8\./);
      assert.ok(['green', 'yellow'].includes((await client.cluster.health()).status));
    } finally {
      await client.close();
    }
  }
  const status = await cairnWith(searchEnv({ ELASTICSEARCH_API_KEY: apiKey }), [
    'stack',
    'status',
    'elasticsearch',
  ]);
  assert.equal(status.code, 0, status.output);
  assert.ok(!status.output.includes(apiKey));
});

test('Elasticsearch: a wrong key is refused, and neither the error nor stack status shows it', async () => {
  const wrongKey = 'ak-wrong-Lm4-key';
  const client = searchClient(readSettings(searchEnv({ ELASTICSEARCH_API_KEY: wrongKey })));
  const error = await client.info().then(
    () => new Error('accepted'),
    (e: Error & { meta?: { statusCode?: number } }) => e,
  );
  await client.close();
  assert.equal((error as { meta?: { statusCode?: number } }).meta?.statusCode, 401);
  assert.ok(!`${error.message}\n${error.stack}`.includes(wrongKey));
  // The client redacts credentials in the request it keeps on the error (its default redaction).
  assert.ok(!inspect(error, { depth: 10 }).includes(wrongKey));
  const status = await cairnWith(searchEnv({ ELASTICSEARCH_API_KEY: wrongKey }), [
    'stack',
    'status',
    'elasticsearch',
  ]);
  assert.equal(status.code, 1, status.output);
  assert.match(status.output, /DOWN/);
  assert.ok(!status.output.includes(wrongKey), status.output);
});
