/**
 * Activities of the email surface. A campaign is pinned to one release: its segment is resolved
 * against that release's training snapshot (a frozen copy of the store), so every page, retry
 * and continued run sees the same users in the same order, and a cursor is a plain position.
 * Slate ids are a digest of campaign and user, so a batch retried after a crash re-sends the
 * same ids and a consumer dedupes them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import type { Kafka, Message, Producer } from 'kafkajs';
import {
  ageBandLabels,
  type EmailSegment,
  type EmailSlate,
  type EmailSlatesRequest,
  emailSlateId,
  emailSlateSchema,
  emailSlatesInputSchema,
} from '../schemas/email';
import { describeIssues } from '../schemas/issues';
import { recommendRequestSchema } from '../schemas/recommend';
import { eventProducer } from '../services/events/kafka';
import type { TopicSet } from '../services/events/topics';
import { ageBand } from '../services/models/popularity';
import type { ModelRegistry, ModelRelease } from '../services/registry/model-registry';
import { CatalogFeed } from '../services/serving/catalog-feed';
import type { HotState } from '../services/serving/hot-state';
import {
  chooseSearch,
  elasticsearchSearch,
  exactSearch,
  FallbackSearch,
} from '../services/serving/item-search';
import { LiveCatalog } from '../services/serving/live-catalog';
import { type PipelineDeps, runPipeline } from '../services/serving/pipeline';
import { loadHotState } from '../services/serving/release-loader';
import { parseServingConfig } from '../services/serving/serving-config';
import { variantsOf } from '../services/serving/variants';
import { InteractionStore } from '../services/store/interaction-store';
import { retrievalFamily } from '../services/training/families';

export interface EmailActivityDeps {
  kafka: Kafka;
  search: Client;
  registry: ModelRegistry;
  topics: TopicSet;
  itemsAlias: string;
  /** Namespaces the catalog feed's throw-away consumer group. */
  prefix: string;
  snapshotsDir: string;
}

/** The release a campaign is composed from, and how many users its segment holds. */
export interface EmailCampaignPlan {
  release: string;
  users: number;
  /** The campaign as validated, its defaults filled in. */
  campaign: EmailSlatesRequest;
}

export interface EmailBatchInput {
  campaign: string;
  segment: EmailSegment;
  k: number;
  release: string;
  /** Position in the segment's users of the batch's first user. */
  from: number;
  count: number;
}

export interface EmailBatchResult {
  /** Users of the segment this batch covered. */
  users: number;
  composed: number;
  /** Users who got no slate (nothing left to recommend after filtering). */
  failed: number;
}

/** The heartbeat's details: where a retried attempt resumes. */
interface BatchProgress {
  cursor: number;
  composed: number;
  failed: number;
}

/** Failure types of the email surface: the same input fails the same way. */
export const emailFailures = {
  campaign: 'EmailCampaignError',
  release: 'EmailReleaseError',
} as const;

/** Users per produce and heartbeat: a retry re-sends at most this many slates. */
const sendChunk = 50;
/** How long a worker may take to read the catalog and users from the log before composing. */
const catalogCatchUpMs = 120_000;
const dayMs = 86_400_000;

/**
 * Email is not an online slot: no exploration (a slate is a fixed message, not a draw whose
 * propensity is logged), and the search budget is a batch's, not a request's.
 */
const emailServing = parseServingConfig({
  pipeline: { explorationRate: 0, budgetSlot: 0 },
  deadlineMs: 5_000,
  searchBudgetMs: 2_000,
});

export function validEmailCampaign(input: unknown): EmailSlatesRequest {
  const parsed = emailSlatesInputSchema.safeParse(input);
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `invalid email campaign: ${describeIssues(parsed.error)}`,
      emailFailures.campaign,
    );
  return parsed.data;
}

export function createEmailActivities(deps: EmailActivityDeps) {
  const { kafka, registry } = deps;
  const catalog = new LiveCatalog();
  let feed: Promise<CatalogFeed> | undefined;
  let producer: Promise<Producer> | undefined;
  // A worker composes one campaign at a time: one release's state and one segment are kept.
  let hot: { version: string; state: Promise<HotState> } | undefined;
  let segmentCache: { key: string; users: Promise<string[]> } | undefined;
  const pipeline: PipelineDeps = {
    config: emailServing,
    variants: variantsOf(emailServing),
    search: new FallbackSearch(
      chooseSearch(emailServing.search, emailServing.inProcessSearchCells, elasticsearchSearch(deps.search)),
      exactSearch,
      emailServing.searchCooldownMs,
    ),
  };

  // Shared by the process's attempts; a failed start is forgotten, so the next attempt tries again.
  const once = <T>(start: () => Promise<T>, forget: () => void): Promise<T> => {
    const started = start();
    started.catch(forget);
    return started;
  };
  const liveCatalog = async (): Promise<LiveCatalog> => {
    feed ??= once(
      async () => {
        const started = new CatalogFeed(kafka, deps.topics, catalog, deps.prefix);
        await started.start(catalogCatchUpMs).catch(async (error: unknown) => {
          await started.stop().catch(() => undefined);
          throw error;
        });
        return started;
      },
      () => {
        feed = undefined;
      },
    );
    const current = await feed;
    try {
      current.assertHealthy();
    } catch (error) {
      // A crashed feed would leave blocks unapplied; the next attempt starts a new one.
      feed = undefined;
      await current.stop().catch(() => undefined);
      throw error;
    }
    return catalog;
  };
  const connectedProducer = (): Promise<Producer> => {
    producer ??= once(
      async () => {
        const created = eventProducer(kafka);
        await created.connect();
        return created;
      },
      () => {
        producer = undefined;
      },
    );
    return producer;
  };
  const hotState = async (release: ModelRelease): Promise<HotState> => {
    if (hot?.version !== release.version) {
      const replaced = hot?.state;
      const state = liveCatalog().then((c) => loadHotState(registry, release, c, deps.itemsAlias));
      hot = { version: release.version, state };
      state.catch(() => {
        if (hot?.state === state) hot = undefined;
      });
      void replaced?.then((s) => s.ranker?.release()).catch(() => undefined);
    }
    return hot.state;
  };
  const segmentUsers = (release: ModelRelease, segment: EmailSegment): Promise<string[]> => {
    const key = `${release.version}\0${JSON.stringify(segment)}`;
    if (segmentCache?.key !== key) {
      const users = resolveSegment(deps.snapshotsDir, release, segment);
      segmentCache = { key, users };
      users.catch(() => {
        if (segmentCache?.users === users) segmentCache = undefined;
      });
    }
    return segmentCache.users;
  };
  const pinnedRelease = async (version: string): Promise<ModelRelease> => {
    const release = await registry.release(retrievalFamily, version);
    if (release === undefined)
      throw ApplicationFailure.nonRetryable(
        `release ${version} of ${retrievalFamily} is not in the registry`,
        emailFailures.release,
      );
    return release;
  };

  const activities = {
    /** Validates the campaign, pins the champion, and counts the segment's users. */
    async prepareEmailCampaign(input: unknown): Promise<EmailCampaignPlan> {
      const campaign = validEmailCampaign(input);
      const release = await registry.champion(retrievalFamily);
      if (release === undefined)
        throw ApplicationFailure.nonRetryable(
          'no champion release to compose email slates from: run cairn retrain',
          emailFailures.release,
        );
      const users = await segmentUsers(release, campaign.segment);
      return { release: release.version, users: users.length, campaign };
    },

    /**
     * Composes and sends the slates of one page of the segment, heartbeating after each send; a
     * retried attempt resumes after the last send its predecessor reported.
     */
    async composeEmailBatch(input: EmailBatchInput): Promise<EmailBatchResult> {
      const release = await pinnedRelease(input.release);
      const users = await segmentUsers(release, input.segment);
      const state = await hotState(release);
      const out = await connectedProducer();
      const end = Math.min(input.from + input.count, users.length);
      const resumed = Context.current().info.heartbeatDetails as BatchProgress | undefined;
      const progress: BatchProgress = resumed ?? { cursor: input.from, composed: 0, failed: 0 };
      while (progress.cursor < end) {
        const page = users.slice(progress.cursor, Math.min(progress.cursor + sendChunk, end));
        const messages: Message[] = [];
        for (const userId of page) {
          const slate = await composeSlate(state, pipeline, input, userId);
          if (slate === undefined) progress.failed++;
          else messages.push({ key: userId, value: JSON.stringify(slate) });
        }
        if (messages.length > 0) await out.send({ topic: deps.topics.emailSlates, messages });
        progress.cursor += page.length;
        progress.composed += messages.length;
        heartbeat(progress);
      }
      return { users: end - input.from, composed: progress.composed, failed: progress.failed };
    },
  };

  return {
    activities,
    async close(): Promise<void> {
      await Promise.allSettled([
        feed?.then((f) => f.stop()),
        producer?.then((p) => p.disconnect()),
        hot?.state.then((s) => s.ranker?.release()),
      ]);
    },
  };
}

export type EmailActivities = ReturnType<typeof createEmailActivities>['activities'];

async function composeSlate(
  state: HotState,
  pipeline: PipelineDeps,
  input: EmailBatchInput,
  userId: string,
): Promise<EmailSlate | undefined> {
  const request = recommendRequestSchema.parse({ userId, surface: 'email', k: input.k });
  const result = await runPipeline(request, state, pipeline);
  if (!result.ok) throw new Error(`email slate for ${userId}: ${result.error.message}`);
  if (result.slate.items.length === 0) return undefined;
  return emailSlateSchema.parse({
    campaign: input.campaign,
    userId,
    slateId: emailSlateId(input.campaign, userId),
    releaseVersion: state.version,
    items: result.slate.items.map(({ itemId, rank, score, reasons }) => ({ itemId, rank, score, reasons })),
    composedAt: Date.now(),
  });
}

/** The segment's user ids, in the snapshot's order (an explicit list keeps its own). */
async function resolveSegment(
  snapshotsDir: string,
  release: ModelRelease,
  segment: EmailSegment,
): Promise<string[]> {
  if (segment.kind === 'users') return segment.userIds;
  const snapshot = (release.metadata as { snapshot?: string }).snapshot;
  const dir = snapshot === undefined ? undefined : join(snapshotsDir, snapshot);
  // Opening a missing store would create an empty one: a segment of nobody, silently.
  if (dir === undefined || !existsSync(join(dir, 'checkpoint.json')))
    throw ApplicationFailure.nonRetryable(
      `release ${release.version}: its training snapshot ${snapshot ?? '(none recorded)'} is not in ${snapshotsDir}`,
      emailFailures.release,
    );
  const store = await InteractionStore.open(dir);
  try {
    switch (segment.kind) {
      case 'all':
        return [...store.userIds];
      case 'cohort':
        return store.userIds.filter((_, u) => {
          const { age, gender, occupation } = store.userDemographics[u];
          return (
            (segment.gender === undefined || gender === segment.gender) &&
            (segment.occupation === undefined || occupation === segment.occupation) &&
            (segment.ageBand === undefined ||
              (age !== undefined && ageBandLabels[ageBand(age)] === segment.ageBand))
          );
        });
      case 'active': {
        const lastSeen = new Float64Array(store.userIds.length);
        let newest = 0;
        await store.scanInteractions((r) => {
          lastSeen[r.user] = Math.max(lastSeen[r.user], r.occurredAt);
          newest = Math.max(newest, r.occurredAt);
        });
        // A replayed log's times are historical: "recent" is measured back from its newest interaction.
        const since = newest - segment.days * dayMs;
        return store.userIds.filter((_, u) => lastSeen[u] > 0 && lastSeen[u] >= since);
      }
    }
  } finally {
    await store.close();
  }
}
