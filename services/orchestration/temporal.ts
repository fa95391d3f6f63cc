/** Temporal connections built from settings. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalConfig } from '../../temporal.config';
import type { CairnSettings } from '../config/environment';

export const namespaceOf = (settings: CairnSettings) => settings.env.TEMPORAL_NAMESPACE ?? temporalConfig.namespace;

export async function temporalClient(settings: CairnSettings): Promise<Client> {
  const connection = await Connection.connect({ address: settings.temporalAddress });
  return new Client({ connection, namespace: namespaceOf(settings) });
}

export function workerConnection(settings: CairnSettings): Promise<NativeConnection> {
  return NativeConnection.connect({ address: settings.temporalAddress });
}
