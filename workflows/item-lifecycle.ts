import {
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle';
import type { ItemContent } from '../services/lifecycle/content-embedding';
import {
  applyCounts,
  type ContentChange,
  type CountBatch,
  dueForWarmUp,
  type ItemVector,
  type LifecycleRecord,
  type LifecycleStage,
  newRecord,
  startsExploring,
} from '../services/lifecycle/lifecycle-state';
import { temporalConfig } from '../temporal.config';

/**
 * Local activities: each is one or two short requests, and with millions of lifecycles the
 * server's work per item is what limits throughput. A local activity runs inside the workflow
 * task that asked for it and leaves one marker in the history, instead of an activity task
 * round trip and a further workflow task; all of them are idempotent, so the re-run that a
 * worker crash causes is harmless.
 */
const { placeItem, foldInItem, grantExploration, endExploration, removeItem, updateItemCategories } =
  proxyLocalActivities<LifecycleActivities>({
    startToCloseTimeout: temporalConfig.timeouts.ioActivity,
    retry: temporalConfig.retry.io,
  });

const settings = temporalConfig.lifecycle;

/**
 * How long a lifecycle started by counts waits for its item_created. Counts come first when the
 * catalog consumer lags behind the counting one, by seconds or minutes; an id that is still
 * unknown after this is not an item (or its catalog event was lost), and the wait fails.
 */
const awaitCreationFor = '1 hour';

export interface LifecycleInput {
  itemId: string;
  /** Absent when counts started the lifecycle (signal-with-start) before item_created did. */
  content?: ItemContent;
  /** Carried across continue-as-new. */
  carried?: LifecycleRecord;
  /** History events per run before continuing as new (default `lifecycle.eventsPerRun`). */
  eventsPerRun?: number;
}

export interface LifecycleView {
  itemId: string;
  stage: LifecycleStage;
  impressions: number;
  interactions: number;
  distinctUsers: number;
  budget: number;
  vector?: ItemVector;
  endReason?: string;
}

/** item_created again (a redelivery, or the item re-created): the content is the latest. */
export const createdSignal = defineSignal<[ItemContent]>('created');
export const countsSignal = defineSignal<[CountBatch]>('counts');
/** item_updated: the fields it names replace the item's content. */
export const updatedSignal = defineSignal<[ContentChange]>('updated');
export const retiredSignal = defineSignal<[]>('retired');
export const blockedSignal = defineSignal<[{ reason: string }]>('blocked');
/** A retrain promoted a new release: the item's vector is recomputed in the new space. */
export const championChangedSignal = defineSignal<[{ version: string }]>('championChanged');
export const lifecycleState = defineQuery<LifecycleView>('state');

const viewOf = (r: LifecycleRecord): LifecycleView => ({
  itemId: r.itemId,
  stage: r.stage,
  impressions: r.impressions,
  interactions: r.interactions,
  distinctUsers: r.users.length,
  budget: r.budget,
  vector: r.vector,
  endReason: r.endReason,
});

/**
 * One item's life, driven by signals: cold (a vector from its content and an exploration budget)
 * → exploring (shown out of the budget) → warm (a vector by fold-in after enough interactions,
 * exploration over); retired or blocked removes it from the index and ends the workflow. The
 * history records every count and transition: it is the item's audit log.
 */
export async function itemLifecycle(input: LifecycleInput): Promise<LifecycleView> {
  const record = input.carried ?? newRecord(input.itemId, input.content);
  let ending: { stage: 'retired' | 'blocked'; reason: string } | undefined;
  let newChampion: string | undefined;
  let updated: { categories: boolean } | undefined;
  setHandler(createdSignal, (content) => {
    record.content = content;
    if (record.stage === 'uncreated') record.stage = 'cold';
  });
  setHandler(updatedSignal, (change) => {
    // As in the store, which refuses item_updated for an item it does not know.
    if (record.content === undefined) return;
    record.content = { ...record.content, ...change };
    updated = { categories: (updated?.categories ?? false) || change.categories !== undefined };
  });
  setHandler(countsSignal, (batch) => {
    applyCounts(record, batch, settings);
  });
  setHandler(retiredSignal, () => {
    ending ??= { stage: 'retired', reason: 'item_retired' };
  });
  setHandler(blockedSignal, ({ reason }) => {
    ending ??= { stage: 'blocked', reason };
  });
  setHandler(championChangedSignal, ({ version }) => {
    if (record.vector?.version !== version) newChampion = version;
  });
  setHandler(lifecycleState, () => viewOf(record));

  if (input.carried === undefined) {
    if (
      record.content === undefined &&
      !(await condition(() => record.content !== undefined || ending !== undefined, awaitCreationFor))
    )
      throw ApplicationFailure.nonRetryable(
        `item ${record.itemId} was counted but no item_created reached its lifecycle within ${awaitCreationFor}`,
        'ItemNeverCreated',
      );
  }
  if (input.carried === undefined && record.content !== undefined) {
    record.vector = await placeItem(placed(record));
    if (record.vector?.source === 'release') record.stage = 'warm';
    else {
      await grantExploration({ itemId: record.itemId, impressions: settings.explorationBudget });
      record.budget = settings.explorationBudget;
    }
  }

  const historyFull = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength >= (input.eventsPerRun ?? settings.eventsPerRun);
  for (;;) {
    await condition(
      () =>
        ending !== undefined ||
        newChampion !== undefined ||
        updated !== undefined ||
        startsExploring(record) ||
        dueForWarmUp(record, settings) ||
        historyFull(),
    );
    if (ending !== undefined) {
      await endExploration({ itemId: record.itemId });
      await removeItem({ itemId: record.itemId });
      record.stage = ending.stage;
      record.endReason = ending.reason;
      return viewOf(record);
    }
    if (startsExploring(record)) record.stage = 'exploring';
    if (dueForWarmUp(record, settings)) await warmUp(record);
    if (newChampion !== undefined) {
      newChampion = undefined;
      await reembed(record);
    }
    if (updated !== undefined) {
      const change = updated;
      updated = undefined;
      await applyUpdate(record, change);
    }
    if (historyFull() && ending === undefined && newChampion === undefined && updated === undefined)
      return continueAsNew<typeof itemLifecycle>({ ...input, carried: record });
  }
}

/** The item as the activities place it. Only a lifecycle whose item_created arrived gets here. */
function placed(record: LifecycleRecord): { itemId: string; content: ItemContent } {
  if (record.content === undefined)
    throw ApplicationFailure.nonRetryable(`item ${record.itemId} has no content yet`, 'ItemNeverCreated');
  return { itemId: record.itemId, content: record.content };
}

async function warmUp(record: LifecycleRecord): Promise<void> {
  const vector = await foldInItem({ ...placed(record), users: record.users });
  if (vector === undefined) {
    record.foldInFailedAt = record.interactions;
    return;
  }
  record.vector = vector;
  await endExploration({ itemId: record.itemId });
  record.stage = 'warm';
}

/** In the new release's space: fold-in again for an item that earned it, else content again. */
async function reembed(record: LifecycleRecord): Promise<void> {
  const item = placed(record);
  if (record.vector?.source === 'fold-in') {
    record.vector = (await foldInItem({ ...item, users: record.users })) ?? (await placeItem(item));
    return;
  }
  record.vector = await placeItem(item);
  if (record.vector?.source === 'release' && record.stage !== 'warm') {
    await endExploration({ itemId: record.itemId });
    record.stage = 'warm';
  }
}

/**
 * item_updated: an item still placed by its content gets a vector from the new content (the
 * document's categories with it). A trained or folded-in vector comes from interactions, which
 * the update does not change: only the categories that serving filters on are rewritten.
 */
async function applyUpdate(record: LifecycleRecord, change: { categories: boolean }): Promise<void> {
  const item = placed(record);
  if (record.vector?.source === 'content') record.vector = await placeItem(item);
  else if (record.vector !== undefined && change.categories)
    await updateItemCategories({ itemId: item.itemId, categories: [...item.content.categories] });
}
