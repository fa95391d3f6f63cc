/** The Elasticsearch client and the catalog index: one document per item with its metadata. */
import { Client, type ClientOptions } from '@elastic/elasticsearch';
import { type CairnSettings, readPem } from '../config/environment';

/** The node, credentials (API key or basic auth) and CA from the settings. */
export function searchConnection(settings: CairnSettings): Pick<ClientOptions, 'node' | 'auth' | 'tls'> {
  const { env } = settings;
  const auth =
    env.ELASTICSEARCH_API_KEY !== undefined
      ? { apiKey: env.ELASTICSEARCH_API_KEY }
      : env.ELASTICSEARCH_USERNAME !== undefined
        ? { username: env.ELASTICSEARCH_USERNAME, password: env.ELASTICSEARCH_PASSWORD ?? '' }
        : undefined;
  return {
    node: settings.elasticsearchUrl,
    ...(auth === undefined ? {} : { auth }),
    ...(env.ELASTICSEARCH_TLS_CA === undefined
      ? {}
      : { tls: { ca: readPem(env.ELASTICSEARCH_TLS_CA, 'ELASTICSEARCH_TLS_CA') } }),
  };
}

export function searchClient(settings: CairnSettings): Client {
  return new Client({ ...searchConnection(settings), requestTimeout: 60_000 });
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
