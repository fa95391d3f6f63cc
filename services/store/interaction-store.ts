/**
 * The interaction store: the view of the event log that training reads, with the entity
 * registry (users, items, categories, item status) and the counters later stages use.
 *
 * Files (see records.ts for the binary layouts):
 *   entities.jsonl    every applied user and catalog event, one JSON per line, in apply order
 *   interactions.bin  fixed-width interaction records
 *   impressions.bin   fixed-width impression records (one per item shown)
 *   checkpoint.json   the byte length of each file and the next Kafka offset per partition
 *
 * Effects are idempotent: every event id is fingerprinted, and a replayed event is a no-op.
 * Durability: appends are fsynced before the checkpoint is atomically replaced (write + rename),
 * and Kafka offsets are committed only after that; on open, files are cut back to the
 * checkpoint, so a crash between the two loses nothing and duplicates nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogEvent, Impression, Interaction, UserEvent } from '../../schemas/events';
import type { StreamEvent } from '../events/validation';
import { FingerprintSet, fingerprint } from './fingerprint';
import {
  impressionRecordBytes,
  interactionRecordBytes,
  readImpression,
  readInteraction,
  surfaceCode,
  typeCode,
  writeImpression,
  writeInteraction,
} from './records';

export type ApplyOutcome = { kind: 'applied' } | { kind: 'duplicate' } | { kind: 'rejected'; reason: string };

export type UserDemographics = Extract<UserEvent, { type: 'user_created' }>['demographics'];
export interface ItemContent {
  title: string;
  year: number | null;
  text: string;
}
const statusCodes = ['active', 'retired', 'blocked'] as const;

interface Checkpoint {
  entitiesBytes: number;
  interactionsBytes: number;
  impressionsBytes: number;
  /** topic → partition → next offset to apply. */
  offsets: Record<string, Record<string, string>>;
}

export interface StoreCounts {
  interactions: number;
  impressions: number;
  items: number;
  users: number;
}

const files = {
  entities: 'entities.jsonl',
  interactions: 'interactions.bin',
  impressions: 'impressions.bin',
  checkpoint: 'checkpoint.json',
  lock: 'lock',
};

/** A growable list of numbers that indexes by dense id. */
class Tally {
  values = new Float64Array(1024);
  bump(index: number, by = 1): void {
    if (index >= this.values.length) {
      const grown = new Float64Array(Math.max(index + 1, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[index] += by;
  }
  get(index: number): number {
    return index < this.values.length ? this.values[index] : 0;
  }
}

export class InteractionStore {
  readonly userIds: string[] = [];
  readonly itemIds: string[] = [];
  readonly categoryNames: string[] = [];
  private readonly userIndex = new Map<string, number>();
  private readonly itemIndex = new Map<string, number>();
  private readonly categoryIndex = new Map<string, number>();
  readonly itemCategories: number[][] = [];
  readonly itemStatus: number[] = [];
  readonly itemContent: ItemContent[] = [];
  readonly userDemographics: UserDemographics[] = [];
  readonly userInterests = new Map<number, string[]>();

  readonly interactionsPerItem = new Tally();
  readonly interactionsPerUser = new Tally();
  readonly interactionsPerCategory = new Tally();
  readonly impressionsPerItem = new Tally();

  private readonly seen = new FingerprintSet(1 << 16);
  private interactionCount = 0;
  private impressionCount = 0;

  private pendingEntities: string[] = [];
  private pendingInteractions: Buffer = Buffer.alloc(interactionRecordBytes * 4096);
  private pendingInteractionBytes = 0;
  private pendingImpressions: Buffer = Buffer.alloc(impressionRecordBytes * 4096);
  private pendingImpressionBytes = 0;

  private constructor(
    readonly dir: string,
    private checkpoint: Checkpoint,
  ) {}

  static async open(dir: string): Promise<InteractionStore> {
    await mkdir(dir, { recursive: true });
    await acquireLock(dir);
    const checkpointFile = join(dir, files.checkpoint);
    const checkpoint: Checkpoint = existsSync(checkpointFile)
      ? JSON.parse(await readFile(checkpointFile, 'utf8'))
      : { entitiesBytes: 0, interactionsBytes: 0, impressionsBytes: 0, offsets: {} };
    const store = new InteractionStore(dir, checkpoint);
    await store.recover();
    return store;
  }

  /** Releases the store for another process (a rebuild, another projector). */
  async close(): Promise<void> {
    await rm(join(this.dir, files.lock), { force: true });
  }

  counts(): StoreCounts {
    return {
      interactions: this.interactionCount,
      impressions: this.impressionCount,
      items: this.itemIds.length,
      users: this.userIds.length,
    };
  }

  /** The next offset to apply for a partition, or undefined when none was applied. */
  nextOffset(topic: string, partition: number): string | undefined {
    return this.checkpoint.offsets[topic]?.[String(partition)];
  }

  itemIndexOf(itemId: string): number | undefined {
    return this.itemIndex.get(itemId);
  }

  userIndexOf(userId: string): number | undefined {
    return this.userIndex.get(userId);
  }

  apply(value: StreamEvent): ApplyOutcome {
    switch (value.stream) {
      case 'interactions':
        return this.applyInteraction(value.event);
      case 'impressions':
        return this.applyImpression(value.event);
      case 'catalog':
      case 'users':
        return this.applyEntity(value.event, true);
    }
  }

  /** Makes everything applied so far durable, then records the offsets it covers. */
  async commit(offsets: Record<string, Record<string, string>>): Promise<void> {
    const entities = this.pendingEntities.join('');
    const interactions = this.pendingInteractions.subarray(0, this.pendingInteractionBytes);
    const impressions = this.pendingImpressions.subarray(0, this.pendingImpressionBytes);
    await Promise.all([
      appendDurably(join(this.dir, files.entities), Buffer.from(entities)),
      appendDurably(join(this.dir, files.interactions), interactions),
      appendDurably(join(this.dir, files.impressions), impressions),
    ]);
    const merged = { ...this.checkpoint.offsets };
    for (const [topic, partitions] of Object.entries(offsets))
      merged[topic] = { ...merged[topic], ...partitions };
    const next: Checkpoint = {
      entitiesBytes: this.checkpoint.entitiesBytes + Buffer.byteLength(entities),
      interactionsBytes: this.checkpoint.interactionsBytes + interactions.length,
      impressionsBytes: this.checkpoint.impressionsBytes + impressions.length,
      offsets: merged,
    };
    const tmp = join(this.dir, `${files.checkpoint}.tmp`);
    const handle = await open(tmp, 'w');
    await handle.writeFile(JSON.stringify(next));
    await handle.sync();
    await handle.close();
    await rename(tmp, join(this.dir, files.checkpoint));
    this.checkpoint = next;
    this.pendingEntities = [];
    this.pendingInteractionBytes = 0;
    this.pendingImpressionBytes = 0;
  }

  /**
   * An order-independent digest of the store's logical content (ids, not dense indexes), so a
   * store rebuilt from the log has the same checksum whatever order partitions were read in.
   */
  async checksum(): Promise<string> {
    const digests: bigint[] = [];
    const entityLines = (await readFile(join(this.dir, files.entities), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l !== '');
    for (const line of entityLines) digests.push(digest64(line));
    await this.scanInteractions((r) =>
      digests.push(
        digest64(
          `${r.fpHi}:${r.fpLo}:${r.occurredAt}:${this.userIds[r.user]}:${this.itemIds[r.item]}:${r.value}:${r.type}:${r.surface}`,
        ),
      ),
    );
    await this.scanImpressions((r) =>
      digests.push(
        digest64(`${r.fpHi}:${r.fpLo}:${r.servedAt}:${this.userIds[r.user]}:${this.itemIds[r.item]}`),
      ),
    );
    const sorted = BigUint64Array.from(digests).sort();
    return createHash('sha256').update(new Uint8Array(sorted.buffer)).digest('hex');
  }

  async scanInteractions(visit: (r: ReturnType<typeof readInteraction>) => void): Promise<void> {
    const bytes = await readPrefix(join(this.dir, files.interactions), this.checkpoint.interactionsBytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; at += interactionRecordBytes) visit(readInteraction(view, at));
  }

  async scanImpressions(visit: (r: ReturnType<typeof readImpression>) => void): Promise<void> {
    const bytes = await readPrefix(join(this.dir, files.impressions), this.checkpoint.impressionsBytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; at += impressionRecordBytes) visit(readImpression(view, at));
  }

  private applyInteraction(event: Interaction): ApplyOutcome {
    const fp = fingerprint(event.eventId);
    if (this.seen.has(fp)) return { kind: 'duplicate' };
    const user = this.userIndex.get(event.userId);
    if (user === undefined) return { kind: 'rejected', reason: `unknown user ${event.userId}` };
    const item = this.itemIndex.get(event.itemId);
    if (item === undefined) return { kind: 'rejected', reason: `unknown item ${event.itemId}` };
    this.seen.add(fp);
    this.pendingInteractions = ensureRoom(
      this.pendingInteractions,
      this.pendingInteractionBytes + interactionRecordBytes,
    );
    writeInteraction(
      new DataView(this.pendingInteractions.buffer, this.pendingInteractions.byteOffset),
      this.pendingInteractionBytes,
      {
        fpHi: fp.hi,
        fpLo: fp.lo,
        occurredAt: event.occurredAt,
        user,
        item,
        value: 'value' in event ? event.value : 0,
        type: typeCode(event.type),
        surface: surfaceCode(event.surface),
      },
    );
    this.pendingInteractionBytes += interactionRecordBytes;
    this.countInteraction(user, item);
    return { kind: 'applied' };
  }

  private applyImpression(event: Impression): ApplyOutcome {
    // A slate is applied whole, so its first shown item stands for all of it.
    if (this.seen.has(fingerprint(`${event.slateId}:${event.items[0].itemId}`))) return { kind: 'duplicate' };
    const user = this.userIndex.get(event.userId);
    if (user === undefined) return { kind: 'rejected', reason: `unknown user ${event.userId}` };
    const items = event.items.map((shown) => this.itemIndex.get(shown.itemId));
    const unknown = event.items.find((_, i) => items[i] === undefined);
    if (unknown !== undefined) return { kind: 'rejected', reason: `unknown item ${unknown.itemId}` };
    for (const [i, shown] of event.items.entries()) {
      const fp = fingerprint(`${event.slateId}:${shown.itemId}`);
      this.seen.add(fp);
      this.pendingImpressions = ensureRoom(
        this.pendingImpressions,
        this.pendingImpressionBytes + impressionRecordBytes,
      );
      writeImpression(
        new DataView(this.pendingImpressions.buffer, this.pendingImpressions.byteOffset),
        this.pendingImpressionBytes,
        {
          fpHi: fp.hi,
          fpLo: fp.lo,
          servedAt: event.servedAt,
          user,
          item: items[i] as number,
        },
      );
      this.pendingImpressionBytes += impressionRecordBytes;
      this.impressionsPerItem.bump(items[i] as number);
      this.impressionCount++;
    }
    return { kind: 'applied' };
  }

  private applyEntity(event: CatalogEvent | UserEvent, record: boolean): ApplyOutcome {
    const fp = fingerprint(event.eventId);
    if (this.seen.has(fp)) return { kind: 'duplicate' };
    const outcome = this.changeEntity(event);
    if (outcome.kind !== 'applied') return outcome;
    this.seen.add(fp);
    if (record) this.pendingEntities.push(`${JSON.stringify(event)}\n`);
    return outcome;
  }

  private changeEntity(event: CatalogEvent | UserEvent): ApplyOutcome {
    switch (event.type) {
      case 'user_created': {
        if (this.userIndex.has(event.userId))
          return { kind: 'rejected', reason: `user ${event.userId} already exists` };
        this.userIndex.set(event.userId, this.userIds.length);
        this.userIds.push(event.userId);
        this.userDemographics.push(event.demographics);
        return { kind: 'applied' };
      }
      case 'onboarding_interests': {
        const user = this.userIndex.get(event.userId);
        if (user === undefined) return { kind: 'rejected', reason: `unknown user ${event.userId}` };
        this.userInterests.set(user, event.categories);
        return { kind: 'applied' };
      }
      case 'item_created': {
        if (this.itemIndex.has(event.itemId))
          return { kind: 'rejected', reason: `item ${event.itemId} already exists (send item_updated)` };
        this.itemIndex.set(event.itemId, this.itemIds.length);
        this.itemIds.push(event.itemId);
        this.itemCategories.push(event.categories.map((c) => this.category(c)));
        this.itemStatus.push(0);
        this.itemContent.push({ title: event.title, year: event.year, text: event.text });
        return { kind: 'applied' };
      }
      default: {
        const item = this.itemIndex.get(event.itemId);
        if (item === undefined) return { kind: 'rejected', reason: `unknown item ${event.itemId}` };
        if (event.type === 'item_updated') {
          if (event.categories !== undefined)
            this.itemCategories[item] = event.categories.map((c) => this.category(c));
          const content = this.itemContent[item];
          this.itemContent[item] = {
            title: event.title ?? content.title,
            year: event.year === undefined ? content.year : event.year,
            text: event.text ?? content.text,
          };
        }
        if (event.type === 'item_retired') this.itemStatus[item] = statusCodes.indexOf('retired');
        if (event.type === 'item_blocked') this.itemStatus[item] = statusCodes.indexOf('blocked');
        return { kind: 'applied' };
      }
    }
  }

  private category(name: string): number {
    let index = this.categoryIndex.get(name);
    if (index === undefined) {
      index = this.categoryNames.length;
      this.categoryIndex.set(name, index);
      this.categoryNames.push(name);
    }
    return index;
  }

  private countInteraction(user: number, item: number): void {
    this.interactionCount++;
    this.interactionsPerItem.bump(item);
    this.interactionsPerUser.bump(user);
    for (const category of this.itemCategories[item]) this.interactionsPerCategory.bump(category);
  }

  /** Cuts every file back to the checkpoint (dropping a torn append) and replays it into memory. */
  private async recover(): Promise<void> {
    const c = this.checkpoint;
    for (const [file, bytes] of [
      [files.entities, c.entitiesBytes],
      [files.interactions, c.interactionsBytes],
      [files.impressions, c.impressionsBytes],
    ] as const) {
      const path = join(this.dir, file);
      if (existsSync(path)) await truncate(path, bytes);
    }
    const entities = (await readPrefix(join(this.dir, files.entities), c.entitiesBytes)).toString('utf8');
    for (const line of entities.split('\n')) {
      if (line === '') continue;
      const outcome = this.applyEntity(JSON.parse(line) as CatalogEvent | UserEvent, false);
      if (outcome.kind !== 'applied')
        throw new Error(`corrupt entity log in ${this.dir}: ${JSON.stringify(outcome)}`);
    }
    await this.scanInteractions((r) => {
      this.seen.add({ hi: r.fpHi, lo: r.fpLo });
      this.countInteraction(r.user, r.item);
    });
    await this.scanImpressions((r) => {
      this.seen.add({ hi: r.fpHi, lo: r.fpLo });
      this.impressionsPerItem.bump(r.item);
      this.impressionCount++;
    });
  }
}

/** One writer per store: two projectors appending to the same files would corrupt them. */
async function acquireLock(dir: string): Promise<void> {
  const path = join(dir, files.lock);
  const holder = Number(await readFile(path, 'utf8').catch(() => ''));
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder))
    throw new Error(`the store in ${dir} is in use by process ${holder} (stop 'cairn consume' first)`);
  await writeFile(path, String(process.pid));
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function ensureRoom(buffer: Buffer, needed: number): Buffer {
  if (needed <= buffer.length) return buffer;
  const grown = Buffer.alloc(Math.max(needed, buffer.length * 2));
  buffer.copy(grown);
  return grown;
}

async function appendDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'a');
  try {
    if (bytes.length > 0) await handle.write(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readPrefix(path: string, bytes: number): Promise<Buffer> {
  if (bytes === 0 || !existsSync(path)) return Buffer.alloc(0);
  const whole = await readFile(path);
  return whole.subarray(0, bytes);
}

function digest64(text: string): bigint {
  const fp = fingerprint(text);
  return (BigInt(fp.hi) << 32n) | BigInt(fp.lo);
}
