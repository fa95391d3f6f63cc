/** Temporal connections built from settings. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { temporalConfig } from '../../temporal.config';
import type { CairnSettings } from '../config/environment';

export const namespaceOf = (settings: CairnSettings) =>
  settings.env.TEMPORAL_NAMESPACE ?? temporalConfig.namespace;

export async function temporalClient(settings: CairnSettings): Promise<Client> {
  const connection = await Connection.connect({ address: settings.temporalAddress });
  return new Client({ connection, namespace: namespaceOf(settings) });
}

let runtimeInstalled = false;

/** Worker state changes are logged at INFO by default; Cairn's workers log only what needs a look. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger((process.env.CAIRN_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN'),
  });
}

export function workerConnection(settings: CairnSettings): Promise<NativeConnection> {
  installRuntime();
  return NativeConnection.connect({ address: settings.temporalAddress });
}
