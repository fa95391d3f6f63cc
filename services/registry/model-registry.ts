/**
 * The model registry: versioned, content-hashed artifacts in a NATS JetStream object store
 * (bucket `cairn-models`), and which version is serving (the champion) for each model family.
 * A release is immutable: publishing the same version again with the same content is a no-op,
 * with different content an error.
 */
import { createHash } from 'node:crypto';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';

export interface ArtifactInfo {
  file: string;
  bytes: number;
  sha256: string;
}

export interface ModelRelease {
  family: string;
  version: string;
  /** sha256 over the artifacts' hashes, in file order. */
  contentHash: string;
  artifacts: ArtifactInfo[];
  publishedAt: string;
  metadata: Record<string, unknown>;
}

export interface ModelRegistry {
  publish(
    family: string,
    version: string,
    files: Record<string, Uint8Array>,
    metadata: Record<string, unknown>,
  ): Promise<ModelRelease>;
  release(family: string, version: string): Promise<ModelRelease | undefined>;
  /** Every published release of a family. */
  releases(family: string): Promise<ModelRelease[]>;
  artifact(family: string, version: string, file: string): Promise<Uint8Array>;
  champion(family: string): Promise<ModelRelease | undefined>;
  promote(family: string, version: string): Promise<void>;
}

export const registryBucket = 'cairn-models';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function openModelRegistry(nc: NatsConnection, bucket = registryBucket): Promise<ModelRegistry> {
  const store = await new Objm(nc).create(bucket, { description: 'Cairn model artifacts' });
  return new JetStreamModelRegistry(store);
}

class JetStreamModelRegistry implements ModelRegistry {
  constructor(private readonly store: ObjectStore) {}

  async publish(
    family: string,
    version: string,
    files: Record<string, Uint8Array>,
    metadata: Record<string, unknown>,
  ): Promise<ModelRelease> {
    const artifacts = Object.entries(files)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([file, bytes]) => ({ file, bytes: bytes.length, sha256: sha256(bytes) }));
    const contentHash = sha256(artifacts.map((a) => `${a.file}:${a.sha256}`).join('\n'));
    const existing = await this.release(family, version);
    if (existing !== undefined) {
      if (existing.contentHash !== contentHash)
        throw new Error(
          `${family} ${version} is already published with other content (${existing.contentHash})`,
        );
      return existing;
    }
    for (const artifact of artifacts)
      await this.store.putBlob({ name: `${family}/${version}/${artifact.file}` }, files[artifact.file]);
    const release: ModelRelease = {
      family,
      version,
      contentHash,
      artifacts,
      publishedAt: new Date().toISOString(),
      metadata,
    };
    // The manifest goes last: a release is visible only once all of its artifacts are stored.
    await this.store.putBlob(
      { name: manifestName(family, version) },
      encoder.encode(JSON.stringify(release)),
    );
    return release;
  }

  async release(family: string, version: string): Promise<ModelRelease | undefined> {
    const bytes = await this.store.getBlob(manifestName(family, version));
    return bytes === null ? undefined : (JSON.parse(decoder.decode(bytes)) as ModelRelease);
  }

  async releases(family: string): Promise<ModelRelease[]> {
    const manifests = (await this.store.list())
      .map((info) => manifestVersion(family, info.name))
      .filter((version) => version !== undefined);
    const releases = await Promise.all(manifests.map((version) => this.release(family, version)));
    return releases.filter((release) => release !== undefined);
  }

  async artifact(family: string, version: string, file: string): Promise<Uint8Array> {
    const release = await this.release(family, version);
    const expected = release?.artifacts.find((a) => a.file === file);
    if (expected === undefined) throw new Error(`no artifact ${file} in ${family} ${version}`);
    const bytes = await this.store.getBlob(`${family}/${version}/${file}`);
    if (bytes === null || sha256(bytes) !== expected.sha256)
      throw new Error(`artifact ${family}/${version}/${file} is missing or does not match its hash`);
    return bytes;
  }

  async champion(family: string): Promise<ModelRelease | undefined> {
    const bytes = await this.store.getBlob(`${family}/champion`);
    return bytes === null ? undefined : this.release(family, decoder.decode(bytes));
  }

  async promote(family: string, version: string): Promise<void> {
    if ((await this.release(family, version)) === undefined)
      throw new Error(`cannot promote unpublished ${family} ${version}`);
    await this.store.putBlob({ name: `${family}/champion` }, encoder.encode(version));
  }
}

const manifestName = (family: string, version: string) => `${family}/${version}/manifest.json`;

function manifestVersion(family: string, name: string): string | undefined {
  const parts = name.split('/');
  return parts.length === 3 && parts[0] === family && parts[2] === 'manifest.json' ? parts[1] : undefined;
}
