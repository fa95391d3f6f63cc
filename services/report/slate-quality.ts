/**
 * Quality of the slates actually served in a replay, per variant: NDCG@10 against each user's
 * held-out interactions, CTR, catalog coverage, intra-list diversity (mean pairwise category
 * distance within a slate) and novelty (mean self-information of an item's popularity in train).
 */
export interface ServedSlate {
  variant: string;
  userId: string;
  items: readonly string[];
  clicks: number;
}

export interface SlateQuality {
  variant: string;
  slates: number;
  ndcgAt10: number;
  ctr: number;
  coverage: number;
  diversity: number;
  novelty: number;
}

export interface SlateQualityInputs {
  heldOut: ReadonlyMap<string, ReadonlySet<string>>;
  categories: ReadonlyMap<string, readonly string[]>;
  /** Interactions per item in train. */
  popularity: ReadonlyMap<string, number>;
  trainInteractions: number;
  catalogSize: number;
}

function ndcgAt10(items: readonly string[], relevant: ReadonlySet<string> | undefined): number {
  if (relevant === undefined || relevant.size === 0) return 0;
  let dcg = 0;
  for (let r = 0; r < Math.min(10, items.length); r++)
    if (relevant.has(items[r])) dcg += 1 / Math.log2(r + 2);
  let ideal = 0;
  for (let r = 0; r < Math.min(10, relevant.size); r++) ideal += 1 / Math.log2(r + 2);
  return dcg / ideal;
}

/** 1 − Jaccard similarity of two items' categories. */
function distance(a: readonly string[] = [], b: readonly string[] = []): number {
  const union = new Set([...a, ...b]);
  if (union.size === 0) return 0;
  const shared = a.filter((c) => b.includes(c)).length;
  return 1 - shared / union.size;
}

function diversityOf(items: readonly string[], categories: SlateQualityInputs['categories']): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < items.length; i++)
    for (let j = i + 1; j < items.length; j++) {
      sum += distance(categories.get(items[i]), categories.get(items[j]));
      pairs++;
    }
  return pairs === 0 ? 0 : sum / pairs;
}

export function slateQuality(slates: readonly ServedSlate[], inputs: SlateQualityInputs): SlateQuality[] {
  const byVariant = new Map<string, ServedSlate[]>();
  for (const s of slates) byVariant.set(s.variant, [...(byVariant.get(s.variant) ?? []), s]);
  return [...byVariant.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([variant, list]) => {
      const shown = new Set<string>();
      let ndcg = 0;
      let diversity = 0;
      let novelty = 0;
      let items = 0;
      let clicks = 0;
      for (const s of list) {
        ndcg += ndcgAt10(s.items, inputs.heldOut.get(s.userId));
        diversity += diversityOf(s.items, inputs.categories);
        clicks += s.clicks;
        for (const item of s.items) {
          shown.add(item);
          // Add-one smoothing: an item never seen in train (a new one) is maximally novel, not infinite.
          novelty += -Math.log2(((inputs.popularity.get(item) ?? 0) + 1) / (inputs.trainInteractions + 1));
          items++;
        }
      }
      const n = Math.max(1, list.length);
      return {
        variant,
        slates: list.length,
        ndcgAt10: ndcg / n,
        ctr: items === 0 ? 0 : clicks / items,
        coverage: shown.size / inputs.catalogSize,
        diversity: diversity / n,
        novelty: items === 0 ? 0 : novelty / items,
      };
    });
}
