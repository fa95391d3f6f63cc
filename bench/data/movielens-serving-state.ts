/** ML-100K served in process: iALS trained on the given interactions, the catalog and users replayed into a live catalog. */
import type { MovieLens } from '../../services/data/movielens';
import { itemCreated, userCreated } from '../../services/data/movielens-events';
import type { Ials } from '../../services/models/ials';
import { itemsOfUser } from '../../services/models/interaction-matrix';
import type { Interaction } from '../../services/models/types';
import type { FittedPipeline } from '../../services/ranking/pipeline-evaluation';
import { declareFoldIn } from '../../services/realtime/session-fold-in';
import { buildHotState, type HotState } from '../../services/serving/hot-state';
import { exactSearch, FallbackSearch } from '../../services/serving/item-search';
import { LiveCatalog } from '../../services/serving/live-catalog';
import type { PipelineDeps } from '../../services/serving/pipeline';
import { parseServingConfig, type ServingConfigInput } from '../../services/serving/serving-config';
import { variantsOf } from '../../services/serving/variants';
import { interactionColumns } from '../../services/store/training-set';
import { trainRetrieval } from '../../services/training/candidate-training';
import { trainingConfigSchema } from '../../services/training/config';

/** A live catalog holding every MovieLens item and user, created before the ratings begin. */
export function movieLensCatalog(data: Pick<MovieLens, 'items' | 'users'>): LiveCatalog {
  const catalog = new LiveCatalog();
  const since = Date.UTC(1997, 0, 1);
  for (const row of data.items) {
    const event = itemCreated(row, since);
    if (event.type === 'item_created') catalog.apply(event);
  }
  for (const row of data.users) catalog.applyUser(userCreated(row, since));
  return catalog;
}

/** Serving's hot state over the iALS vectors and histories a pipeline evaluation fitted. */
export function fittedHotState(
  generator: Ials,
  train: FittedPipeline['features']['train'],
  dims: number,
  version: string,
  catalog: LiveCatalog,
): HotState {
  return buildHotState(
    {
      family: 'retrieval',
      version,
      dims,
      itemIds: [...train.items.ids],
      itemVectors: generator.itemVectors,
      userIds: [...train.users.ids],
      userVectors: generator.userVectors,
      seen: Array.from({ length: train.nUsers }, (_, u) => Array.from(itemsOfUser(train, u))),
    },
    catalog,
    'unused',
  );
}

export async function movieLensServingState(
  data: MovieLens,
  train: readonly Interaction[],
  version: string,
): Promise<HotState> {
  const ials = trainingConfigSchema.parse({}).ials;
  const trained = await trainRetrieval(
    interactionColumns(
      train,
      data.items.map((i) => i.item),
    ),
    ials,
    2,
  );
  const catalog = movieLensCatalog(data);
  const state = buildHotState(
    {
      family: 'retrieval',
      version,
      dims: trained.items.dims,
      itemIds: trained.items.ids,
      itemVectors: trained.items.vectors,
      userIds: trained.users.ids,
      userVectors: trained.users.vectors,
      seen: trained.users.seen,
    },
    catalog,
    'unused',
  );
  declareFoldIn(state, { alpha: ials.alpha, lambda: ials.lambda });
  return state;
}

/** The pipeline's dependencies for offline measurement: exact in-process search, no exploration, no deadline pressure. */
export function offlinePipelineDeps(overrides: ServingConfigInput = {}): PipelineDeps {
  const config = parseServingConfig({
    ...overrides,
    pipeline: { explorationRate: 0, ...overrides.pipeline },
    searchBudgetMs: 10_000,
    deadlineMs: 10_000,
  });
  return {
    config,
    variants: variantsOf(config),
    search: new FallbackSearch(() => exactSearch, exactSearch, 0),
  };
}
