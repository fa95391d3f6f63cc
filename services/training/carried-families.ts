/**
 * Families a release keeps from the champion: a family whose challenger lost its gate or failed
 * to train serves the champion's version of it instead of nothing. Only the two-tower family is
 * carried: its files are self-contained (its own item ids and vectors, the user tower, its gate's
 * figures), so the champion's towers serve beside a newer release exactly as they were gated.
 * The ranker is not: its features are the release's own iALS scores and snapshot tables, indexed
 * by the release's rows, and a champion's ranker over a challenger's scores is a pairing no gate
 * measured, so a release whose ranker lost serves in the generators' order.
 * A carried family is recorded in the release's metadata (`carried`), not copied: the release's
 * artifacts and version stay those of its own snapshot and config.
 */
import type { ModelRelease } from '../registry/model-registry';
import type { TwoTowerSpec } from './two-tower-release';

export interface CarriedFamily {
  /** The release whose artifacts of this family serve. */
  from: string;
  reason: string;
}

export interface CarriedFamilies {
  twoTower?: CarriedFamily;
}

/** The release whose towers serve with `release`: its own when they won, else the ones it carried. */
export function twoTowerSource(release: Pick<ModelRelease, 'version' | 'metadata'>): string | undefined {
  const spec = release.metadata.twoTower as Pick<TwoTowerSpec, 'won'> | undefined;
  if (spec?.won === true) return release.version;
  return (release.metadata.carried as CarriedFamilies | undefined)?.twoTower?.from;
}

/** What a freshly trained release carries from the champion serving when it was trained. */
export function carriedFromChampion(
  trained: { twoTower: Pick<TwoTowerSpec, 'won'> },
  champion: Pick<ModelRelease, 'version' | 'metadata'> | undefined,
): CarriedFamilies {
  if (trained.twoTower.won || champion === undefined) return {};
  const from = twoTowerSource(champion);
  if (from === undefined) return {};
  const via = from === champion.version ? '' : `, which carried them from ${from}`;
  return {
    twoTower: { from, reason: `its towers did not win; the champion's serve (${champion.version}${via})` },
  };
}
