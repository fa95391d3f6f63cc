/**
 * The interaction store: the view of the event log that training reads, with the entity
 * registry (users, items, categories, item status) and the counters later stages use.
 *
 * Files (see records.ts for the binary layouts):
 *   entities.jsonl    every applied user and catalog event, one JSON per line, in apply order
 *   interactions.bin  fixed-width interaction records
 *   impressions.bin   fixed-width impression records (one per item shown)
 *   checkpoint.json   the store format, the byte length of each file and the next Kafka offset
 *                     per partition
 *
 * Effects are idempotent: every event id is fingerprinted, and a replayed event is a no-op.
 * Durability: a commit writes the pending bytes at the checkpoint's lengths (not appended), fsyncs
 * them, then atomically replaces the checkpoint (write + rename), and Kafka offsets are committed
 * only after that. A commit that fails changes nothing the checkpoint covers and keeps its pending
 * bytes, so calling commit again writes them exactly once; on open, files are cut back to the
 * checkpoint, so a crash between the two loses nothing and duplicates nothing.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CatalogEvent, Impression, Interaction, UserEvent } from '../../schemas/events';
import type { StreamEvent } from '../events/validation';
import { ContentDigest } from './content-digest';
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
import { defaultChunkBytes, fileLines, scanRecordFile, writeAt } from './store-files';
import { acquireStoreLock, type StoreLock } from './store-lock';

export type ApplyOutcome = { kind: 'applied' } | { kind: 'duplicate' } | { kind: 'rejected'; reason: string };

export type UserDemographics = Extract<UserEvent, { type: 'user_created' }>['demographics'];
export interface ItemContent {
  title: string;
  year: number | null;
  text: string;
}
const statusCodes = ['active', 'retired', 'blocked'] as const;

/**
 * Format 2 fingerprints event ids with SHA-256 (format 1, whose checkpoints had no format field,
 * used an FNV-based hash). Fingerprints of different formats cannot be compared, so a store of
 * another format is refused and rebuilt from the log.
 */
export const storeFormat = 2;

const byteLength = z.number().int().nonnegative();
const checkpointSchema = z.object({
  format: z.number().int().positive().default(1),
  entitiesBytes: byteLength,
  interactionsBytes: byteLength.multipleOf(interactionRecordBytes),
  impressionsBytes: byteLength.multipleOf(impressionRecordBytes),
  /** topic → partition → next offset to apply. */
  offsets: z.record(z.string(), z.record(z.string(), z.string())),
});
type Checkpoint = z.output<typeof checkpointSchema>;

/** What a store that cannot be read needs: the log is the record, the store only a view of it. */
const rebuildHint = "rebuild it from the log with 'cairn store rebuild'";

/** The store on disk was written by another store format: rebuild it from the log. */
export class StoreFormatError extends Error {
  constructor(
    readonly dir: string,
    readonly format: number,
  ) {
    super(
      `the store in ${dir} has format ${format}, and this Cairn reads format ${storeFormat} ` +
        `(event-id fingerprints changed): ${rebuildHint}`,
    );
    this.name = 'StoreFormatError';
  }
}

export interface StoreOptions {
  /** How many bytes a scan reads at a time; the default suits stores of any size. */
  chunkBytes?: number;
  /**
   * For a reader of a frozen snapshot (training): open does not rebuild the event-id fingerprints
   * and the per-entity counters from every record, which at 10M records costs more than reading
   * them, and `apply` is refused.
   */
  readOnly?: boolean;
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
  private committing = false;

  private constructor(
    readonly dir: string,
    private checkpoint: Checkpoint,
    private readonly lock: StoreLock,
    private readonly chunkBytes: number,
    private readonly readOnly: boolean,
  ) {}

  static async open(dir: string, options: StoreOptions = {}): Promise<InteractionStore> {
    await mkdir(dir, { recursive: true });
    const lock = await acquireStoreLock(dir);
    try {
      const checkpoint = (await readCheckpoint(join(dir, files.checkpoint))) ?? {
        format: storeFormat,
        entitiesBytes: 0,
        interactionsBytes: 0,
        impressionsBytes: 0,
        offsets: {},
      };
      if (checkpoint.format !== storeFormat) throw new StoreFormatError(dir, checkpoint.format);
      const store = new InteractionStore(
        dir,
        checkpoint,
        lock,
        options.chunkBytes ?? defaultChunkBytes,
        options.readOnly ?? false,
      );
      await store.recover();
      return store;
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Releases the store for another process (a rebuild, another projector). */
  async close(): Promise<void> {
    await this.lock.release();
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
    if (this.readOnly) throw new Error(`the store in ${this.dir} was opened read-only`);
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

  /**
   * Makes everything applied so far durable, then records the offsets it covers. All or nothing:
   * after a failure the checkpoint and the pending bytes are as before, so it may be called again.
   * Events applied while it runs stay pending for the next commit. One commit at a time.
   */
  async commit(offsets: Record<string, Record<string, string>>): Promise<void> {
    if (this.committing) throw new Error(`a commit of the store in ${this.dir} is already running`);
    this.committing = true;
    try {
      await this.writeCommit(offsets);
    } finally {
      this.committing = false;
    }
  }

  private async writeCommit(offsets: Record<string, Record<string, string>>): Promise<void> {
    const c = this.checkpoint;
    const entityLines = this.pendingEntities.length;
    const entities = Buffer.from(this.pendingEntities.join(''));
    const interactions = this.pendingInteractions.subarray(0, this.pendingInteractionBytes);
    const impressions = this.pendingImpressions.subarray(0, this.pendingImpressionBytes);
    // Every write settles before a failure is reported, so a retry never races a straggler.
    const writes = await Promise.allSettled([
      writeAt(join(this.dir, files.entities), entities, c.entitiesBytes),
      writeAt(join(this.dir, files.interactions), interactions, c.interactionsBytes),
      writeAt(join(this.dir, files.impressions), impressions, c.impressionsBytes),
    ]);
    for (const write of writes) if (write.status === 'rejected') throw write.reason;
    const merged = { ...c.offsets };
    for (const [topic, partitions] of Object.entries(offsets))
      merged[topic] = { ...merged[topic], ...partitions };
    const next: Checkpoint = {
      format: storeFormat,
      entitiesBytes: c.entitiesBytes + entities.length,
      interactionsBytes: c.interactionsBytes + interactions.length,
      impressionsBytes: c.impressionsBytes + impressions.length,
      offsets: merged,
    };
    const tmp = join(this.dir, `${files.checkpoint}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(next));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, files.checkpoint));
    this.checkpoint = next;
    this.pendingEntities.splice(0, entityLines);
    this.pendingInteractions.copyWithin(0, interactions.length, this.pendingInteractionBytes);
    this.pendingInteractionBytes -= interactions.length;
    this.pendingImpressions.copyWithin(0, impressions.length, this.pendingImpressionBytes);
    this.pendingImpressionBytes -= impressions.length;
  }

  /**
   * An order-independent digest of the store's logical content (ids, not dense indexes), so a
   * store rebuilt from the log has the same checksum whatever order partitions were read in.
   * One streaming pass in constant memory (see content-digest.ts).
   */
  async checksum(): Promise<string> {
    const digest = new ContentDigest(11);
    const words = digest.words;
    for await (const { line } of fileLines(this.entitiesPath, this.checkpoint.entitiesBytes, this.chunkBytes))
      if (line !== '') digest.addText(line);
    const users = idHashes(this.userIds);
    const items = idHashes(this.itemIds);
    const addRecord = (tag: number, view: DataView, at: number, user: number, item: number) => {
      words[0] = tag;
      words[1] = view.getUint32(at, true);
      words[2] = view.getUint32(at + 4, true);
      words[3] = view.getUint32(at + 8, true);
      words[4] = view.getUint32(at + 12, true);
      words[5] = users[2 * user];
      words[6] = users[2 * user + 1];
      words[7] = items[2 * item];
      words[8] = items[2 * item + 1];
    };
    await this.scanRecords(
      files.interactions,
      this.checkpoint.interactionsBytes,
      interactionRecordBytes,
      (view, at) => {
        addRecord(1, view, at, view.getUint32(at + 16, true), view.getUint32(at + 20, true));
        words[9] = view.getUint32(at + 24, true);
        words[10] = view.getUint16(at + 28, true);
        digest.addRecord();
      },
    );
    await this.scanRecords(
      files.impressions,
      this.checkpoint.impressionsBytes,
      impressionRecordBytes,
      (view, at) => {
        addRecord(2, view, at, view.getUint32(at + 16, true), view.getUint32(at + 20, true));
        words[9] = 0;
        words[10] = 0;
        digest.addRecord();
      },
    );
    return digest.hex(`cairn interaction store, format ${storeFormat}`);
  }

  async scanInteractions(visit: (r: ReturnType<typeof readInteraction>) => void): Promise<void> {
    await this.scanInteractionRecords((view, at) => visit(readInteraction(view, at)));
  }

  /** The raw records, for a reader that decodes only the fields it needs, with no object per record. */
  async scanInteractionRecords(visit: (view: DataView, at: number) => void): Promise<void> {
    await this.scanRecords(
      files.interactions,
      this.checkpoint.interactionsBytes,
      interactionRecordBytes,
      visit,
    );
  }

  async scanImpressions(visit: (r: ReturnType<typeof readImpression>) => void): Promise<void> {
    await this.scanRecords(
      files.impressions,
      this.checkpoint.impressionsBytes,
      impressionRecordBytes,
      (view, at) => visit(readImpression(view, at)),
    );
  }

  private get entitiesPath(): string {
    return join(this.dir, files.entities);
  }

  /** Visits each fixed-width record of the first `bytes` of a file, chunk by chunk. */
  private async scanRecords(
    file: string,
    bytes: number,
    recordBytes: number,
    visit: (view: DataView, at: number) => void,
  ): Promise<void> {
    await scanRecordFile(join(this.dir, file), bytes, recordBytes, visit, this.chunkBytes);
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
    // A read-only store applies nothing after its entity log, which holds no duplicates: hashing
    // a million ids there would find none.
    const fp = this.readOnly ? undefined : fingerprint(event.eventId);
    if (fp !== undefined && this.seen.has(fp)) return { kind: 'duplicate' };
    const outcome = this.changeEntity(event);
    if (outcome.kind !== 'applied') return outcome;
    if (fp !== undefined) this.seen.add(fp);
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
      const size = existsSync(path) ? (await stat(path)).size : 0;
      // Truncating "up" would pad the file with zeros and make them records.
      if (size < bytes)
        throw new Error(
          `${path} holds ${size} bytes, fewer than the ${bytes} that ${join(this.dir, files.checkpoint)} ` +
            `covers: the store is damaged; ${rebuildHint}`,
        );
      if (existsSync(path)) await truncate(path, bytes);
    }
    for await (const { line, number } of fileLines(this.entitiesPath, c.entitiesBytes, this.chunkBytes)) {
      if (line === '') continue;
      const where = `corrupt entity log ${this.entitiesPath}, line ${number}`;
      let event: CatalogEvent | UserEvent;
      try {
        event = JSON.parse(line);
      } catch (error) {
        throw new Error(`${where}: not JSON (${(error as Error).message}); ${rebuildHint}`);
      }
      const outcome = this.applyEntity(event, false);
      if (outcome.kind !== 'applied') throw new Error(`${where}: ${JSON.stringify(outcome)}; ${rebuildHint}`);
    }
    if (this.readOnly) {
      this.interactionCount = c.interactionsBytes / interactionRecordBytes;
      this.impressionCount = c.impressionsBytes / impressionRecordBytes;
      return;
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

/** The checkpoint in `path`, or undefined for a new store; an error names the file and the fault. */
async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`corrupt checkpoint ${path}: not JSON (${(error as Error).message}); ${rebuildHint}`);
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) {
    const faults = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new Error(`corrupt checkpoint ${path}: ${faults.join('; ')}; ${rebuildHint}`);
  }
  return parsed.data;
}

/** Each id's 64-bit fingerprint, two words per id, so a checksum hashes ids, not dense indexes. */
function idHashes(ids: readonly string[]): Uint32Array {
  const hashes = new Uint32Array(2 * ids.length);
  ids.forEach((id, i) => {
    const fp = fingerprint(id);
    hashes[2 * i] = fp.hi;
    hashes[2 * i + 1] = fp.lo;
  });
  return hashes;
}

function ensureRoom(buffer: Buffer, needed: number): Buffer {
  if (needed <= buffer.length) return buffer;
  const grown = Buffer.alloc(Math.max(needed, buffer.length * 2));
  buffer.copy(grown);
  return grown;
}
