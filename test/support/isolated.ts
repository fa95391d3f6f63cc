/**
 * Settings for one test: its own topics, consumer groups, index, task queue and store on the
 * shared real servers, so tests neither see each other's events nor the developer's.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { searchClient } from '../../services/catalog/elasticsearch';
import { type CairnSettings, readSettings } from '../../services/config/environment';
import { kafkaClient } from '../../services/events/kafka';
import { ensureTopics } from '../../services/events/topics';

export interface IsolatedSettings extends CairnSettings {
  cleanup(): Promise<void>;
}

export async function isolatedSettings(): Promise<IsolatedSettings> {
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const base = readSettings({ ...process.env, CAIRN_PREFIX: prefix });
  const storeDir = await mkdtemp(join(tmpdir(), 'cairn-test-store-'));
  const settings: CairnSettings = { ...base, storeDir };
  const admin = kafkaClient(settings, 'cairn-test-setup').admin();
  await admin.connect();
  await ensureTopics(admin, settings.topics, 4);
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
      await search.indices.delete({ index: settings.catalogIndex }, { ignore: [404] });
      await search.close();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
