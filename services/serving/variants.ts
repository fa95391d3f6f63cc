/**
 * A/B variants: a user's variant is a salted hash of the user id mapped onto the configured
 * shares, so it is stable across requests and replicas and reshuffled only by a new salt. A
 * variant may pin a release; the others serve the champion and follow it on promotion.
 */
import { createHash } from 'node:crypto';
import type { PipelineParams, ServingConfig } from './serving-config';

export interface Variant {
  name: string;
  params: PipelineParams;
}

/** A uniform number in [0, 1) from the salt and the user. */
export function bucketOf(salt: string, userId: string): number {
  return createHash('sha256').update(`${salt}\0${userId}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** The variant a request is served by: the one it forces, else the user's assignment. */
export function variantOfRequest(
  config: ServingConfig,
  request: { userId: string; variant?: string },
): string {
  return request.variant ?? assignVariant(config, request.userId);
}

export function assignVariant(config: ServingConfig, userId: string): string {
  const u = bucketOf(config.salt, userId);
  let cumulative = 0;
  for (const v of config.variants) {
    cumulative += v.share;
    if (u < cumulative) return v.name;
  }
  return config.variants[config.variants.length - 1].name;
}

/** Each variant's full parameters: the pipeline's defaults with the variant's overrides. */
export function variantsOf(config: ServingConfig): Map<string, Variant> {
  return new Map(
    config.variants.map((v) => [
      v.name,
      {
        name: v.name,
        params: {
          ...config.pipeline,
          ...v.params,
          weights: { ...config.pipeline.weights, ...v.params.weights },
        },
      },
    ]),
  );
}
