/**
 * A release's lineage: the snapshot it was trained on, when that snapshot was taken and the log
 * prefix it holds. It is what `cairn retrain --as-of` looks a past day's release up by.
 */
import type { ModelRelease } from '../registry/model-registry';
import type { LogOffsets, SnapshotLineage } from './snapshot';

export interface RecordedRelease {
  version: string;
  snapshot: string;
  config: unknown;
  lineage: SnapshotLineage;
}

interface LineageMetadata {
  snapshot?: string;
  config?: unknown;
  lineage?: SnapshotLineage;
}

/**
 * The release trained on the newest snapshot taken at or before `asOf`: what served, or was
 * meant to, at that time. Releases published before lineage was recorded cannot be placed in
 * time and are left out.
 */
export function releaseAsOf(releases: readonly ModelRelease[], asOf: Date): RecordedRelease | undefined {
  const placed = releases.flatMap((release) => {
    const { snapshot, config, lineage } = release.metadata as LineageMetadata;
    if (snapshot === undefined || lineage === undefined) return [];
    const takenMs = Date.parse(lineage.takenAt);
    if (takenMs > asOf.getTime()) return [];
    return [{ release, takenMs, recorded: { version: release.version, snapshot, config, lineage } }];
  });
  // Releases of one snapshot with different configs: the last published is that day's.
  placed.sort((a, b) => b.takenMs - a.takenMs || b.release.publishedAt.localeCompare(a.release.publishedAt));
  return placed[0]?.recorded;
}

/** Equal prefixes: the same next offset on every partition, an absent partition counting as 0. */
export function sameLog(a: LogOffsets, b: LogOffsets): boolean {
  const offset = (log: LogOffsets, topic: string, partition: string) =>
    BigInt(log[topic]?.[partition] ?? '0');
  const keys = (log: LogOffsets) =>
    Object.entries(log).flatMap(([topic, partitions]) =>
      Object.keys(partitions).map((partition) => [topic, partition] as const),
    );
  return [...keys(a), ...keys(b)].every(([topic, p]) => offset(a, topic, p) === offset(b, topic, p));
}
