/**
 * One serving replica: the live catalog fed from the log, the champion's hot state (rebuilt
 * aside and swapped on promotion) and one per release a variant pins (loaded at start, never
 * swapped), the NATS responder and the impression log. It owns no clients; its host (the
 * serving activity, the demo, a test) passes them in and closes them.
 */
import type { Client } from '@elastic/elasticsearch';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Kafka, Producer } from 'kafkajs';
import { pinIndex, pinLeaseMs, pinRenewMs } from '../catalog/index-pins';
import { vectorSpaceOf } from '../catalog/vector-index';
import { withDeadline } from '../concurrency/deadline';
import type { CairnSettings } from '../config/environment';
import { eventProducer } from '../events/kafka';
import type { TopicSet } from '../events/topics';
import { declareFoldIn, foldInParamsOf } from '../realtime/session-fold-in';
import type { SessionLookup } from '../realtime/session-store';
import type { ModelRegistry, ModelRelease } from '../registry/model-registry';
import { retrievalFamily } from '../training/families';
import { CatalogFeed } from './catalog-feed';
import type { HotState } from './hot-state';
import { ImpressionLog } from './impression-log';
import {
  chooseSearch,
  elasticsearchSearch,
  exactSearch,
  FallbackSearch,
  type ItemSearch,
} from './item-search';
import { LiveCatalog } from './live-catalog';
import type { ExplorationSlots } from './post/budgeted-exploration';
import { rehearsalBudgetMs } from './rehearsal';
import { loadHotState, readPinnedReleases } from './release-loader';
import { Responder, type ServingCounters } from './responder';
import type { ServingConfig } from './serving-config';
import { variantOfRequest, variantsOf } from './variants';

export interface ReplicaDeps {
  nc: NatsConnection;
  search: Client;
  kafka: Kafka;
  registry: ModelRegistry;
  config: ServingConfig;
  subject: string;
  topics: TopicSet;
  itemsAlias: string;
  /** Namespaces the replica's throw-away consumer group. */
  prefix: string;
  log?: (line: string) => void;
  /** Replaces Elasticsearch as the primary search (tests point it at a dead server this way too). */
  primarySearch?: ItemSearch;
  /** The logged sessions (a SessionView over the session bucket), merged into every request. */
  sessions?: SessionLookup;
  /** The exploration budgets (an ExplorationBudget), spent by the budget slot. */
  budget?: ExplorationSlots;
}

/** Where a replica listens, publishes and searches, as the settings name them. */
export function replicaAddresses(
  settings: Pick<CairnSettings, 'recommendSubject' | 'topics' | 'itemsAlias' | 'prefix'>,
): Pick<ReplicaDeps, 'subject' | 'topics' | 'itemsAlias' | 'prefix'> {
  return {
    subject: settings.recommendSubject,
    topics: settings.topics,
    itemsAlias: settings.itemsAlias,
    prefix: settings.prefix,
  };
}

export interface ReplicaCounters extends ServingCounters {
  /** The champion's version. */
  release?: string;
  /** The versions variants pin, which promotions leave in place. */
  pinnedReleases: string[];
  releasesLoaded: number;
  catalogEvents: number;
  impressionsSent: number;
}

/** How long a replica may take to read the catalog and users from the log before it serves. */
const catalogCatchUpMs = 120_000;

export class ServingReplica {
  /** The champion's state, served to every variant that pins no release. */
  private state?: HotState;
  /** By version: the states of the pinned releases. */
  private readonly pinned = new Map<string, HotState>();
  /** By variant name: the release it pins. */
  private readonly pins: ReadonlyMap<string, string>;
  /** When the pinned releases' indexes were last pinned against pruning. */
  private pinnedAt = 0;
  private loading?: Promise<string | undefined>;
  private releasesLoaded = 0;
  private draining = false;
  private subscriptionFailure?: Error;
  private readonly poll: NodeJS.Timeout;
  private subscription?: Subscription;

  private constructor(
    private readonly deps: ReplicaDeps,
    private readonly catalog: LiveCatalog,
    private readonly feed: CatalogFeed,
    private readonly producer: Producer,
    private readonly impressions: ImpressionLog,
    private readonly responder: Responder,
    private readonly log: (line: string) => void,
  ) {
    this.pins = new Map(
      deps.config.variants.flatMap((v) => (v.models === undefined ? [] : [[v.name, v.models.release]])),
    );
    this.poll = setInterval(() => {
      this.refresh().catch((error: unknown) => log(`champion refresh failed: ${(error as Error).message}`));
      if (Date.now() - this.pinnedAt > pinRenewMs)
        this.pinIndexes().catch((error: unknown) => log(`index pin failed: ${(error as Error).message}`));
    }, deps.config.championPollMs);
  }

  /** Joins the queue group: only once the champion is loaded, so a starting replica takes no traffic it cannot serve. */
  private listen(): void {
    const subscription = this.responder.subscribe(this.deps.nc, this.deps.subject);
    this.subscription = subscription;
    void subscription.closed.then((error) => {
      if (!this.draining) this.subscriptionFailure = error ?? new Error('subscription closed');
    });
  }

  static async start(deps: ReplicaDeps): Promise<ServingReplica> {
    const log = deps.log ?? console.log;
    // Before anything is started: a config pinning an unknown release has nothing to clean up.
    const pinned = await readPinnedReleases(deps.registry, deps.config);
    const catalog = new LiveCatalog();
    const feed = new CatalogFeed(deps.kafka, deps.topics, catalog, deps.prefix);
    try {
      await feed.start(catalogCatchUpMs);
    } catch (error) {
      await feed.stop().catch(() => undefined);
      throw error;
    }
    const producer = eventProducer(deps.kafka);
    await producer.connect().catch(async (error: unknown) => {
      await feed.stop().catch(() => undefined);
      throw error;
    });
    const { batchSize, flushMs } = deps.config.impressions;
    const impressions = new ImpressionLog(producer, deps.topics.impressions, batchSize, flushMs, log);
    let replica: ServingReplica | undefined;
    const responder = new Responder({
      config: deps.config,
      variants: variantsOf(deps.config),
      search: new FallbackSearch(
        chooseSearch(
          deps.config.search,
          deps.config.inProcessSearchCells,
          deps.primarySearch ?? elasticsearchSearch(deps.search),
        ),
        exactSearch,
        deps.config.searchCooldownMs,
      ),
      state: (request) => replica?.stateFor(request),
      sessions: deps.sessions,
      budget: deps.budget,
      impressions,
      maxInFlight: deps.config.maxInFlight,
      log,
    });
    replica = new ServingReplica(deps, catalog, feed, producer, impressions, responder, log);
    try {
      await replica.loadPinned(pinned);
      // Serving does not need Elasticsearch to start: a failed pin is retried by the poll.
      await replica
        .pinIndexes()
        .catch((error: unknown) => log(`index pin failed: ${(error as Error).message}`));
      await replica.refresh();
      replica.listen();
    } catch (error) {
      await replica.drain().catch(() => undefined);
      throw error;
    }
    return replica;
  }

  /** The state a request is served from: its variant's pinned release, else the champion. */
  private stateFor(request: { userId: string; variant?: string }): HotState | undefined {
    const version = this.pins.get(variantOfRequest(this.deps.config, request));
    return version === undefined ? this.state : this.pinned.get(version);
  }

  private async loadPinned(releases: ReadonlyMap<string, ModelRelease>): Promise<void> {
    for (const [version, release] of releases) {
      const state = await this.load(release);
      this.pinned.set(version, state);
      const variants = [...this.pins].filter(([, v]) => v === version).map(([name]) => name);
      this.log(
        `variant ${variants.join(', ')} pinned to release ${version}` +
          (state.withoutRanker === undefined ? '' : ` in the generators' order: ${state.withoutRanker}`),
      );
    }
  }

  /**
   * Keeps the pinned releases' indexes from being pruned by later backfills while this replica
   * serves them; an index already gone leaves its variant searching in process.
   */
  private async pinIndexes(): Promise<void> {
    const now = Date.now();
    for (const state of this.pinned.values())
      if (!(await pinIndex(this.deps.search, state.vectorIndex, now + pinLeaseMs)))
        this.log(
          `release ${state.version}'s index ${state.vectorIndex} no longer exists: its variants search in process`,
        );
    this.pinnedAt = now;
  }

  /** A release's hot state; a release already held (pinned, or the champion) is shared, not rebuilt. */
  private async load(release: ModelRelease): Promise<HotState> {
    const held = this.pinned.get(release.version) ?? this.state;
    if (held?.version === release.version) return held;
    const state = await loadHotState(this.deps.registry, release, this.catalog, this.deps.itemsAlias);
    // Read ahead, not awaited: a slow Elasticsearch must not hold up the release. Requests find
    // the index's vector space known, or read it within their own budget.
    vectorSpaceOf(this.deps.search, state.vectorIndex).catch(() => undefined);
    const foldIn = foldInParamsOf(release.metadata);
    if (foldIn !== undefined) declareFoldIn(state, foldIn);
    const { runs, of } = await this.responder.rehearse(state);
    if (runs < of)
      this.log(
        `release ${release.version} rehearsed ${runs} of ${of} requests within its ${rehearsalBudgetMs} ms`,
      );
    return state;
  }

  /**
   * Loads the champion when it changed: the new state is built while requests keep using the
   * old one, then one assignment switches release and index together.
   */
  refresh(): Promise<string | undefined> {
    this.loading ??= withDeadline(
      this.loadChampion(),
      this.deps.config.releaseLoadMs,
      `loading the champion took over ${this.deps.config.releaseLoadMs} ms; trying again at the next poll`,
    ).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async loadChampion(): Promise<string | undefined> {
    const release = await this.deps.registry.champion(retrievalFamily);
    if (release === undefined || release.version === this.state?.version) return this.state?.version;
    const next = await this.load(release);
    if (this.draining) {
      // A load that outlived its replica: nobody will serve it, so its native sessions go now.
      if (next !== this.state && !this.pinned.has(next.version)) await releaseSessions(next, this.state);
      return this.state?.version;
    }
    const replaced = this.state;
    const previous = replaced?.version;
    this.state = next;
    // Requests that began on the replaced state end within the deadline; its native sessions are
    // freed after that, not left to the garbage collector; a pinned release keeps its own.
    if (replaced !== undefined && !this.pinned.has(replaced.version))
      setTimeout(() => void releaseSessions(replaced, next), 2 * this.deps.config.deadlineMs).unref();
    this.releasesLoaded++;
    this.log(
      (previous === undefined
        ? `serving release ${next.version}`
        : `now serving release ${next.version} (was ${previous})`) +
        (next.withoutRanker === undefined ? '' : ` in the generators' order: ${next.withoutRanker}`),
    );
    return next.version;
  }

  /** Why this replica can no longer serve, if it cannot: its host restarts it. */
  failure(): Error | undefined {
    try {
      this.feed.assertHealthy();
    } catch (error) {
      return error as Error;
    }
    return this.subscriptionFailure;
  }

  counters(): ReplicaCounters {
    return {
      ...this.responder.counters,
      release: this.state?.version,
      pinnedReleases: [...this.pinned.keys()],
      releasesLoaded: this.releasesLoaded,
      catalogEvents: this.feed.applied,
      impressionsSent: this.impressions.sent,
    };
  }

  /**
   * Stops taking requests, answers every one already received, then sends the remaining
   * impressions: nothing accepted is lost.
   */
  async drain(): Promise<ReplicaCounters> {
    this.draining = true;
    clearInterval(this.poll);
    await this.subscription?.drain();
    await this.responder.settled();
    await this.impressions.close();
    await this.producer.disconnect();
    await this.feed.stop();
    return this.counters();
  }
}

/** Frees the ONNX sessions `state` holds that `kept` does not share. */
async function releaseSessions(state: HotState, kept: HotState | undefined): Promise<void> {
  await Promise.all([
    state.ranker !== kept?.ranker ? state.ranker?.release() : undefined,
    state.twoTower !== kept?.twoTower ? state.twoTower?.release() : undefined,
  ]);
}
