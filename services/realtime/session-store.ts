/**
 * The sessions' home: a JetStream key-value bucket whose keys expire `ttlMs` after their last
 * write (the bucket's max age), so an idle user's session ends by itself. The consumer writes
 * it; each serving replica watches the whole bucket into memory (`SessionView`), so a request
 * reads its user's session without a round trip and a write reaches every replica within
 * milliseconds.
 */
import { type KV, Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import type { SessionState } from '../../schemas/session';
import { budgetKey, itemOfBudgetKey } from '../lifecycle/exploration-budget';
import { decodeSession, encodeSession } from './session-state';

/** Keys allow only a few characters: user ids are written with the budget keys' reversible encoding. */
export const sessionKey = budgetKey;
const userOfSessionKey = itemOfBudgetKey;

export async function openSessionBucket(nats: NatsConnection, bucket: string, ttlMs: number): Promise<KV> {
  return new Kvm(nats).create(bucket, { history: 1, ttl: ttlMs });
}

export async function readSession(kv: KV, userId: string): Promise<SessionState | undefined> {
  const key = sessionKey(userId);
  const entry = await kv.get(key);
  if (entry === null || entry.operation !== 'PUT') return undefined;
  return decodeSession(entry.string(), key);
}

export async function writeSession(kv: KV, userId: string, state: SessionState): Promise<void> {
  await kv.put(sessionKey(userId), encodeSession(state));
}

/** What serving asks per request: in memory, never a round trip. */
export interface SessionLookup {
  session(userId: string): SessionState | undefined;
}

interface Held {
  state: SessionState;
  /** When the bucket stored it: the server expires it `ttlMs` later, and so does the view. */
  writtenAt: number;
}

export class SessionView implements SessionLookup {
  private readonly sessions = new Map<string, Held>();
  private readonly watching: Promise<void>;
  private readonly sweep: NodeJS.Timeout;
  /** Values that did not decode: skipped (the replica serves without that session), and counted. */
  undecodable = 0;

  private constructor(
    private readonly watch: QueuedIterator<KvWatchEntry>,
    private readonly ttlMs: number,
  ) {
    this.watching = this.follow();
    // An expiry by max age sends the watch nothing: the view forgets on its own.
    this.sweep = setInterval(() => this.forgetExpired(Date.now()), Math.min(ttlMs, 60_000));
    this.sweep.unref();
  }

  static async open(nats: NatsConnection, bucket: string, ttlMs: number): Promise<SessionView> {
    const kv = await openSessionBucket(nats, bucket, ttlMs);
    return new SessionView(await kv.watch({ key: '>' }), ttlMs);
  }

  session(userId: string): SessionState | undefined {
    const held = this.sessions.get(userId);
    if (held === undefined) return undefined;
    if (held.writtenAt < Date.now() - this.ttlMs) {
      this.sessions.delete(userId);
      return undefined;
    }
    return held.state;
  }

  get size(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.watch.stop();
    await this.watching;
  }

  private forgetExpired(now: number): void {
    for (const [userId, held] of this.sessions)
      if (held.writtenAt < now - this.ttlMs) this.sessions.delete(userId);
  }

  private async follow(): Promise<void> {
    for await (const entry of this.watch) {
      const userId = userOfSessionKey(entry.key);
      if (entry.operation !== 'PUT') {
        this.sessions.delete(userId);
        continue;
      }
      try {
        this.sessions.set(userId, {
          state: decodeSession(entry.string(), entry.key),
          writtenAt: entry.created.getTime(),
        });
      } catch {
        this.undecodable++;
        this.sessions.delete(userId);
      }
    }
  }
}
