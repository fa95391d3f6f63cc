/** The Elasticsearch client and the catalog index: one document per item with its metadata. */
import { Client } from '@elastic/elasticsearch';
import type { CairnSettings } from '../config/environment';

export function searchClient(settings: CairnSettings): Client {
  return new Client({ node: settings.elasticsearchUrl, requestTimeout: 60_000 });
}

export async function ensureCatalogIndex(client: Client, index: string): Promise<void> {
  if (await client.indices.exists({ index })) return;
  await client.indices.create({
    index,
    settings: { number_of_shards: 1, number_of_replicas: 0 },
    mappings: {
      dynamic: 'strict',
      properties: {
        itemId: { type: 'keyword' },
        title: { type: 'text', fields: { raw: { type: 'keyword', ignore_above: 256 } } },
        categories: { type: 'keyword' },
        year: { type: 'short' },
        text: { type: 'text' },
        qualityFlags: { type: 'keyword' },
        status: { type: 'keyword' },
        updatedAt: { type: 'date', format: 'epoch_millis' },
      },
    },
  });
}
