/**
 * Activities of the item lifecycle: place an item's vector in the serving index (from its content
 * or by fold-in), grant and revoke its exploration budget, remove it from the index. Vectors are
 * computed against the release whose vectors the index behind the serving alias holds, so a new
 * vector always has that index's dimensions and lives in its space. Every write is idempotent
 * (document id = item id, grant only if absent, delete of the absent is a no-op).
 */
import type { Client } from '@elastic/elasticsearch';
import type { KV } from '@nats-io/kv';
import { Context } from '@temporalio/activity';
import { type ItemVectors, readItemVectors } from '../services/catalog/item-vectors';
import { aliasTarget, writeVectors } from '../services/catalog/vector-index';
import { announceChampion } from '../services/lifecycle/champion-announcement';
import {
  type ContentMap,
  embedContent,
  fitContentMap,
  type ItemContent,
} from '../services/lifecycle/content-embedding';
import { grantBudget, revokeBudget } from '../services/lifecycle/exploration-budget';
import { UserSpace } from '../services/lifecycle/item-fold-in';
import type { ItemVector } from '../services/lifecycle/lifecycle-state';
import type { ModelRegistry } from '../services/registry/model-registry';
import { readContentMap } from '../services/training/content-map-artifact';
import { retrievalFamily } from '../services/training/families';

export interface LifecycleActivityDeps {
  search: Client;
  registry: ModelRegistry;
  budgets: KV;
  /** The catalog index: the content of every item, which the content map is fitted on. */
  catalogIndex: string;
  itemsAlias: string;
}

export interface PlacedItem {
  itemId: string;
  content: ItemContent;
}

interface ServingRelease {
  index: string;
  version: string;
}

/** What a worker keeps of one release: computed once per version, on first use. */
interface ReleaseModels {
  items: Promise<{ vectors: ItemVectors; ids: Set<string> }>;
  contentMap?: Promise<ContentMap>;
  users?: Promise<UserSpace>;
}

const decoder = new TextDecoder();

/** A failed computation is forgotten, so the activity's retry computes it again. */
function remembered<T>(compute: () => Promise<T>, forget: () => void): Promise<T> {
  const result = compute();
  result.catch(forget);
  return result;
}

export function createLifecycleActivities({
  search,
  registry,
  budgets,
  catalogIndex,
  itemsAlias,
}: LifecycleActivityDeps) {
  const releases = new Map<string, ReleaseModels>();

  const modelsOf = (version: string): ReleaseModels => {
    let models = releases.get(version);
    if (models === undefined) {
      // Lifecycles follow the serving release; an older one is of no further use.
      releases.clear();
      const items = remembered(
        () =>
          readItemVectors(registry, retrievalFamily, version).then((vectors) => ({
            vectors,
            ids: new Set(vectors.ids),
          })),
        () => releases.delete(version),
      );
      models = { items };
      releases.set(version, models);
    }
    return models;
  };

  /** The release whose vectors the serving index holds (from the index's own metadata). */
  async function servingRelease(): Promise<ServingRelease | undefined> {
    const index = await aliasTarget(search, itemsAlias);
    if (index === undefined) return undefined;
    const mapping = await search.indices.getMapping({ index });
    const meta = Object.values(mapping)[0]?.mappings._meta as { version?: string } | undefined;
    const prefix = `${retrievalFamily}-`;
    if (meta?.version === undefined || !meta.version.startsWith(prefix)) return undefined;
    return { index, version: meta.version.slice(prefix.length) };
  }

  async function catalogContent(): Promise<Map<string, ItemContent>> {
    const content = new Map<string, ItemContent>();
    for await (const doc of search.helpers.scrollDocuments<ItemContent & { itemId: string }>({
      index: catalogIndex,
      size: 5_000,
      _source: ['itemId', 'title', 'categories', 'year', 'text'],
    }))
      content.set(doc.itemId, doc);
    return content;
  }

  const contentMapOf = (version: string): Promise<ContentMap> => {
    const models = modelsOf(version);
    models.contentMap ??= remembered(
      async () =>
        // Releases since the map's publication carry it; older ones are fitted here.
        (await readContentMap(registry, retrievalFamily, version)) ??
        Promise.all([models.items, catalogContent()]).then(([items, content]) =>
          fitContentMap(items.vectors, content),
        ),
      () => {
        models.contentMap = undefined;
      },
    );
    return models.contentMap;
  };

  const usersOf = (version: string): Promise<UserSpace> => {
    const models = modelsOf(version);
    models.users ??= remembered(
      async () => {
        const release = await registry.release(retrievalFamily, version);
        if (release === undefined) throw new Error(`no release ${retrievalFamily} ${version}`);
        const { dims, config } = release.metadata as {
          dims: number;
          config: { ials: { alpha: number; lambda: number } };
        };
        const ids = JSON.parse(
          decoder.decode(await registry.artifact(retrievalFamily, version, 'user-ids.json')),
        );
        const raw = await registry.artifact(retrievalFamily, version, 'user-vectors.f32');
        // Copy into an aligned buffer: a Float32Array view needs a 4-byte aligned offset.
        const vectors = new Float32Array(raw.byteLength / 4);
        new Uint8Array(vectors.buffer).set(raw);
        return new UserSpace(
          { ids, dims, vectors },
          { alpha: config.ials.alpha, lambda: config.ials.lambda },
        );
      },
      () => {
        models.users = undefined;
      },
    );
    return models.users;
  };

  const writeItemVector = (index: string, item: PlacedItem, vector: Float32Array) =>
    writeVectors(search, index, [
      {
        itemId: item.itemId,
        categories: [...item.content.categories],
        status: 'active',
        vector: Array.from(vector),
      },
    ]);

  return {
    /**
     * Gives the item a vector in the serving index: the trained one if the serving release knows
     * the item (nothing to write), else one from its content. Undefined while nothing is serving.
     */
    async placeItem(item: PlacedItem): Promise<ItemVector | undefined> {
      const serving = await servingRelease();
      if (serving === undefined) return undefined;
      const { ids } = await modelsOf(serving.version).items;
      if (ids.has(item.itemId)) return { source: 'release', version: serving.version };
      const map = await contentMapOf(serving.version);
      await writeItemVector(serving.index, item, embedContent(map, item.content));
      return { source: 'content', version: serving.version };
    },

    /** The item's row solved against the serving release's users; undefined if none of them is known. */
    async foldInItem(input: PlacedItem & { users: string[] }): Promise<ItemVector | undefined> {
      const serving = await servingRelease();
      if (serving === undefined) return undefined;
      const { vector } = (await usersOf(serving.version)).foldIn(input.users);
      if (vector === undefined) return undefined;
      await writeItemVector(serving.index, input, vector);
      return { source: 'fold-in', version: serving.version };
    },

    /**
     * After a promotion (a regular activity, for the retrain workflow): every running lifecycle
     * recomputes its item's vector against the new serving release, without a restart.
     */
    async announceChampion(input: { version: string }): Promise<number> {
      const context = Context.current();
      return announceChampion(context.client, context.info.taskQueue, input.version, (signalled) =>
        context.heartbeat(signalled),
      );
    },

    /**
     * The categories serving filters on, in the serving index's document of an item whose vector
     * stays (trained or folded in). An item the index does not hold has nothing to update.
     */
    async updateItemCategories(input: { itemId: string; categories: string[] }): Promise<void> {
      const serving = await servingRelease();
      if (serving === undefined) return;
      await search.update(
        { index: serving.index, id: input.itemId, doc: { categories: input.categories } },
        { ignore: [404] },
      );
    },

    async grantExploration(input: { itemId: string; impressions: number }): Promise<void> {
      await grantBudget(budgets, input.itemId, input.impressions);
    },

    async endExploration(input: { itemId: string }): Promise<void> {
      await revokeBudget(budgets, input.itemId);
    },

    /**
     * From every version of the index, not only the serving one: the item leaves every kNN source.
     * By id in each version (the local Elasticsearch has no delete-by-query module).
     */
    async removeItem(input: { itemId: string }): Promise<number> {
      const versions = await search.cat.indices({ index: `${itemsAlias}-*`, format: 'json', h: 'index' });
      if (versions.length === 0) return 0;
      const response = await search.bulk({
        refresh: 'wait_for',
        operations: versions.map((v) => ({ delete: { _index: v.index as string, _id: input.itemId } })),
      });
      const failed = response.items.find((i) => i.delete?.error !== undefined && i.delete.status !== 404);
      if (failed !== undefined)
        throw new Error(`removing ${input.itemId} failed: ${JSON.stringify(failed.delete?.error)}`);
      return response.items.filter((i) => i.delete?.result === 'deleted').length;
    },
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
