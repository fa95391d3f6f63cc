/**
 * A throw-away namespace on the real servers for one test or benchmark run: its own topics,
 * consumer groups, catalog index, task queue, workflow ids and store, so runs neither see each
 * other's events nor the user's, and `cleanup` leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { searchClient } from '../catalog/elasticsearch';
import { kafkaClient } from '../events/kafka';
import { ensureTopics } from '../events/topics';
import { type CairnSettings, readSettings } from './environment';
import { natsConnection } from './nats-connection';

export interface ScratchSettings extends CairnSettings {
  cleanup(): Promise<void>;
}

export async function scratchNamespace(label = 't', partitions = 4): Promise<ScratchSettings> {
  const prefix = `${label}${randomUUID().slice(0, 8)}.`;
  const base = readSettings({ ...process.env, CAIRN_PREFIX: prefix });
  const storeDir = await mkdtemp(join(tmpdir(), 'cairn-test-store-'));
  const snapshotsDir = await mkdtemp(join(tmpdir(), 'cairn-test-snapshots-'));
  const settings: CairnSettings = {
    ...base,
    storeDir,
    snapshotsDir,
    env: { ...base.env, CAIRN_TOPIC_PARTITIONS: partitions },
  };
  const admin = kafkaClient(settings, 'cairn-test-setup').admin();
  await admin.connect();
  await ensureTopics(admin, settings.topics, partitions);
  await admin.disconnect();
  return {
    ...settings,
    async cleanup() {
      const cleaner = kafkaClient(settings, 'cairn-test-cleanup').admin();
      await cleaner.connect();
      await cleaner.deleteTopics({ topics: Object.values(settings.topics) }).catch(() => undefined);
      await cleaner.deleteGroups(Object.values(settings.consumerGroups)).catch(() => undefined);
      await cleaner.disconnect();
      const search = searchClient(settings);
      // One missing index must not keep the others: ignore_unavailable, not a 404 for the lot.
      await search.indices.delete({
        index: [settings.catalogIndex, `${settings.itemsAlias}-*`],
        ignore_unavailable: true,
      });
      await search.close();
      const nats = await natsConnection(settings);
      await new Objm(nats)
        .open(settings.registryBucket)
        .then((bucket) => bucket.destroy())
        .catch(() => undefined);
      await nats.close();
      await rm(storeDir, { recursive: true, force: true });
      await rm(snapshotsDir, { recursive: true, force: true });
    },
  };
}
