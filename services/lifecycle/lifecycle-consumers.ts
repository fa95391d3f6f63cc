/**
 * The consumers that drive the item lifecycle workflows from the event log:
 * - `CatalogLifecycles` (cairn.catalog.v1): item_created starts the item's workflow by
 *   signal-with-start; item_retired and item_blocked signal it.
 *   item_updated signals it too.
 * - `CountSignaller` (cairn.impressions.v1, cairn.interactions.v1): counts each item's
 *   impressions and interactions and signals them in batches, at most once per item per interval.
 *   Counts for an item the catalog does not know yet, or created within the last hour, go by
 *   signal-with-start: they start the lifecycle, which keeps them and waits for its content.
 *   Counts for an item created earlier only reach a lifecycle that exists: an item older than
 *   the lifecycle consumers (a trained catalog item) gets none, rather than one that waits for
 *   an item_created that will never come.
 * Offsets are committed only after the signals for everything below them were accepted by
 * Temporal, so a crash loses no event; the workflows skip what they already counted. Invalid
 * messages are skipped here: the store projector owns dead-lettering.
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import {
  blockedSignal,
  countsSignal,
  createdSignal,
  itemLifecycle,
  retiredSignal,
  updatedSignal,
} from '../../workflows/item-lifecycle';
import type { CairnSettings } from '../config/environment';
import { validateMessage } from '../events/validation';
import { CatalogFeed } from '../serving/catalog-feed';
import { LiveCatalog } from '../serving/live-catalog';
import { CountBatcher, type DueBatch } from './count-batcher';
import { lifecycleGroups, lifecycleWorkflowId } from './lifecycle-names';
import type { CountedStream } from './lifecycle-state';

/** A signal to a workflow that never started or has ended: the item has no lifecycle to count for. */
export async function signalIfRunning(send: () => Promise<void>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

const nextOffset = (offset: string) => String(BigInt(offset) + 1n);

export interface LifecycleConsumerDeps {
  kafka: Kafka;
  temporal: Client;
  settings: CairnSettings;
}

export class CatalogLifecycles {
  private consumer?: Consumer;
  /** item_created events that started a lifecycle or reached a running one. */
  created = 0;
  /** item_created for an item whose lifecycle already ended (a replay, or an id reused). */
  refused = 0;

  constructor(private readonly deps: LifecycleConsumerDeps) {}

  async start(): Promise<void> {
    this.consumer = this.deps.kafka.consumer({ groupId: lifecycleGroups(this.deps.settings).catalog });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.deps.settings.topics.catalog, fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatch: (payload) => this.handle(payload) });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  private async handle({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    for (const message of batch.messages) {
      const validation = validateMessage('catalog', message.value);
      if (validation.ok && validation.value.stream === 'catalog') {
        const event = validation.value.event;
        const workflowId = lifecycleWorkflowId(this.deps.settings, event.itemId);
        const handle = this.deps.temporal.workflow.getHandle(workflowId);
        switch (event.type) {
          case 'item_created': {
            const content = {
              title: event.title,
              categories: event.categories,
              year: event.year,
              text: event.text,
            };
            await this.startLifecycle(workflowId, event.itemId, content);
            break;
          }
          case 'item_retired':
            await signalIfRunning(() => handle.signal(retiredSignal));
            break;
          case 'item_blocked':
            await signalIfRunning(() => handle.signal(blockedSignal, { reason: event.reason }));
            break;
          case 'item_updated': {
            const { eventId: _e, itemId: _i, type: _t, occurredAt: _o, qualityFlags: _q, ...change } = event;
            await signalIfRunning(() => handle.signal(updatedSignal, change));
            break;
          }
        }
      }
      await heartbeat();
    }
    // Starting and signalling are idempotent (a running lifecycle takes the same content again, an
    // ended one refuses the start, an ending is kept once), so a batch redone after a crash is harmless.
    const last = batch.messages.at(-1);
    if (last !== undefined)
      await this.consumer?.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: nextOffset(last.offset) },
      ]);
  }

  private async startLifecycle(
    workflowId: string,
    itemId: string,
    content: Parameters<typeof itemLifecycle>[0]['content'],
  ): Promise<void> {
    try {
      await this.deps.temporal.workflow.signalWithStart(itemLifecycle, {
        workflowId,
        taskQueue: this.deps.settings.pipelineTaskQueue,
        args: [{ itemId, content }],
        signal: createdSignal,
        signalArgs: [content],
        // A redelivered item_created must not bring a retired item back to life; a lifecycle
        // that failed waiting for it (counted, never created) is started afresh.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
      this.created++;
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      this.refused++;
    }
  }
}

export interface CountSignallerOptions {
  intervalMs: number;
  /** How long an item found without a lifecycle has its counts dropped before it is asked again (60 s). */
  recheckWithoutLifecycleMs?: number;
  /** Signals in flight at once. */
  concurrency?: number;
}

/** An item created within this long may have a lifecycle about to start: its counts start it. */
const creationWindowMs = 60 * 60_000;
/** Workflow ids per visibility query: short enough a query for any visibility store. */
const visibilityBatch = 100;
/** How long the signaller may take to read the catalog before it counts. */
const catalogCatchUpMs = 120_000;

export class CountSignaller {
  private consumer?: Consumer;
  private readonly catalog = new LiveCatalog();
  private feed?: CatalogFeed;
  private readonly batcher: CountBatcher;
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  signals = 0;
  /** Batches for items without a running lifecycle: ended (retired, blocked), or older than the lifecycles. */
  dropped = 0;
  /**
   * Items found without a running lifecycle: when, and the creation time they had then. Most
   * impressed items have none (a catalog older than the lifecycles, items past their warm-up), and
   * a signal to each of them every interval is a failed RPC per item. They are asked again after
   * `recheckWithoutLifecycleMs`, or at once when re-created: a lifecycle the catalog consumer
   * starts late (behind on a backlog of old item_created) gets its counts from then on.
   */
  private readonly withoutLifecycle = new Map<string, { at: number; createdAt: number }>();

  constructor(
    private readonly deps: LifecycleConsumerDeps,
    private readonly options: CountSignallerOptions,
  ) {
    this.batcher = new CountBatcher(options.intervalMs);
  }

  async start(): Promise<void> {
    // Only when each item was created matters here, not who the users are.
    const withUsers = false;
    this.feed = new CatalogFeed(
      this.deps.kafka,
      this.deps.settings.topics,
      this.catalog,
      this.deps.settings.prefix,
      withUsers,
    );
    await this.feed.start(catalogCatchUpMs);
    this.consumer = this.deps.kafka.consumer({ groupId: lifecycleGroups(this.deps.settings).counts });
    await this.consumer.connect();
    const { impressions, interactions } = this.deps.settings.topics;
    await this.consumer.subscribe({ topics: [impressions, interactions], fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatch: (payload) => this.count(payload) });
    // A few ticks per interval: an item's next signal goes out soon after its interval has passed.
    this.timer = setInterval(
      () => {
        this.flushing = this.flushing
          .then(() => this.flush(Date.now()))
          .catch((error: Error) =>
            console.error(`lifecycle counts: flush failed (${error.message}); retrying`),
          );
      },
      Math.max(100, this.options.intervalMs / 4),
    );
  }

  /** Signals everything still pending, then stops: a clean stop leaves nothing to resend. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush(Number.POSITIVE_INFINITY);
    await this.consumer?.disconnect();
    await this.feed?.stop();
  }

  private async count({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const stream: CountedStream =
      batch.topic === this.deps.settings.topics.impressions ? 'impressions' : 'interactions';
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      const validation = validateMessage(stream, message.value);
      if (!validation.ok) this.batcher.observe(stream, batch.partition, offset);
      else if (validation.value.stream === 'impressions')
        for (const item of validation.value.event.items)
          this.batcher.add(item.itemId, stream, batch.partition, offset);
      else if (validation.value.stream === 'interactions') {
        const { itemId, userId } = validation.value.event;
        this.batcher.add(itemId, stream, batch.partition, offset, userId);
      }
    }
    await heartbeat();
  }

  private async flush(now: number): Promise<void> {
    const due = this.batcher.takeDue(now);
    await this.noteItemsWithoutLifecycle(due, now);
    const concurrency = this.options.concurrency ?? 32;
    for (let start = 0; start < due.length; start += concurrency)
      await Promise.all(due.slice(start, start + concurrency).map((d) => this.send(d)));
    const topicOf = {
      impressions: this.deps.settings.topics.impressions,
      interactions: this.deps.settings.topics.interactions,
    };
    const commits = [...this.batcher.committable().values()].map((c) => ({
      topic: topicOf[c.stream],
      partition: c.partition,
      offset: String(c.offset),
    }));
    // A commit refused during a rebalance is made by the next flush, or redone by the partition's new owner.
    if (commits.length > 0) await this.consumer?.commitOffsets(commits).catch(() => undefined);
  }

  /** Whether the item was found without a lifecycle recently enough not to ask again. */
  private knownWithoutLifecycle(itemId: string, createdAt: number, now: number): boolean {
    const known = this.withoutLifecycle.get(itemId);
    return (
      known !== undefined &&
      known.createdAt === createdAt &&
      now - known.at < (this.options.recheckWithoutLifecycleMs ?? 60_000)
    );
  }

  /**
   * Asks Temporal's visibility which of the due items past their creation window have a running
   * lifecycle, one query per `visibilityBatch` items, and notes the others: a signal to each would
   * fail one RPC at a time (hundreds at once when a catalog starts being shown). An item that
   * started a moment ago may not be listed yet; its counts are dropped until the recheck, as a
   * failed signal's would be. Without visibility, each item's signal finds out.
   */
  private async noteItemsWithoutLifecycle(due: DueBatch[], now: number): Promise<void> {
    const asking = new Map<string, { itemId: string; createdAt: number }>();
    for (const { itemId } of due) {
      const item = this.catalog.item(itemId);
      if (item === undefined || now - item.createdAt <= creationWindowMs) continue;
      if (this.knownWithoutLifecycle(itemId, item.createdAt, now)) continue;
      const workflowId = lifecycleWorkflowId(this.deps.settings, itemId);
      // Ids that would need escaping in the query are left to their signal.
      if (!/['\\]/.test(workflowId)) asking.set(workflowId, { itemId, createdAt: item.createdAt });
    }
    const ids = [...asking.keys()];
    for (let start = 0; start < ids.length; start += visibilityBatch) {
      const batch = ids.slice(start, start + visibilityBatch);
      const running = new Set<string>();
      try {
        const query = `WorkflowId IN (${batch.map((id) => `'${id}'`).join(', ')}) AND ExecutionStatus = 'Running'`;
        for await (const execution of this.deps.temporal.workflow.list({ query }))
          running.add(execution.workflowId);
      } catch {
        return;
      }
      for (const id of batch) {
        const item = asking.get(id);
        if (item !== undefined && !running.has(id))
          this.withoutLifecycle.set(item.itemId, { at: now, createdAt: item.createdAt });
      }
    }
  }

  private async send(due: DueBatch): Promise<void> {
    const item = this.catalog.item(due.itemId);
    if (item !== undefined && Date.now() - item.createdAt > creationWindowMs) {
      if (this.knownWithoutLifecycle(due.itemId, item.createdAt, Date.now())) {
        this.dropped++;
        return;
      }
      try {
        const handle = this.deps.temporal.workflow.getHandle(
          lifecycleWorkflowId(this.deps.settings, due.itemId),
        );
        if (await signalIfRunning(() => handle.signal(countsSignal, due.batch))) {
          this.signals++;
          this.withoutLifecycle.delete(due.itemId);
        } else {
          this.withoutLifecycle.set(due.itemId, { at: Date.now(), createdAt: item.createdAt });
          this.dropped++;
        }
      } catch {
        this.batcher.requeue(due);
      }
      return;
    }
    try {
      await this.deps.temporal.workflow.signalWithStart(itemLifecycle, {
        workflowId: lifecycleWorkflowId(this.deps.settings, due.itemId),
        taskQueue: this.deps.settings.pipelineTaskQueue,
        args: [{ itemId: due.itemId }],
        signal: countsSignal,
        signalArgs: [due.batch],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
      this.signals++;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) this.dropped++;
      // Temporal unreachable for now: the counts go out with the item's next signal.
      else this.batcher.requeue(due);
    }
  }
}
