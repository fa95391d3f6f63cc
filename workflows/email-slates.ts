import {
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { EmailActivities } from '../activities/email';
import type { EmailSlatesRequest } from '../schemas/email';
import { temporalConfig } from '../temporal.config';

const { prepareEmailCampaign, composeEmailBatch } = proxyActivities<EmailActivities>({
  startToCloseTimeout: temporalConfig.timeouts.ioActivity,
  heartbeatTimeout: temporalConfig.timeouts.heartbeat,
  retry: temporalConfig.retry.io,
});

export interface EmailProgress {
  /** Users in the segment. */
  users: number;
  /** Users whose batch is finished (with or without a slate). */
  done: number;
  batches: number;
  /** Users who got no slate. */
  failed: number;
}

export interface EmailSlatesInput extends EmailSlatesRequest {
  /** Batches per run before continuing as new, so a large segment keeps each history small. */
  batchesPerRun?: number;
  /** Carried across continue-as-new: the pinned release and the cursor. */
  carried?: EmailProgress & { release: string };
}

export interface EmailSlatesResult extends EmailProgress {
  release: string;
  composed: number;
}

export const emailProgress = defineQuery<EmailProgress>('progress');

const defaultBatchesPerRun = 50;

/**
 * An email campaign: the segment's users in batches, each batch's slates composed by the
 * campaign's pinned release and sent to `cairn.email-slates.v1`. The input is validated by the
 * first activity (a bad segment fails the campaign with a non-retryable EmailCampaignError).
 */
export async function emailSlates(input: EmailSlatesInput): Promise<EmailSlatesResult> {
  const { carried, batchesPerRun = defaultBatchesPerRun, ...given } = input;
  let plan = carried;
  let campaign = given;
  if (plan === undefined) {
    const prepared = await prepareEmailCampaign(given);
    // The validated campaign (defaults filled in) is what the batches and the next runs use.
    campaign = prepared.campaign;
    plan = { release: prepared.release, users: prepared.users, done: 0, batches: 0, failed: 0 };
  }
  const release = plan.release;
  const progress: EmailProgress = {
    users: plan.users,
    done: plan.done,
    batches: plan.batches,
    failed: plan.failed,
  };
  setHandler(emailProgress, () => progress);
  for (let batches = 0; progress.done < progress.users; batches++) {
    if (batches === batchesPerRun)
      return continueAsNew<typeof emailSlates>({
        ...campaign,
        batchesPerRun,
        carried: { ...progress, release },
      });
    const batch = await composeEmailBatch({
      campaign: campaign.campaign,
      segment: campaign.segment,
      k: campaign.k,
      release,
      from: progress.done,
      count: campaign.batchSize,
    });
    // The segment is resolved from a frozen snapshot: a page past its end means the two disagree.
    if (batch.users === 0)
      throw ApplicationFailure.nonRetryable(
        `the segment ended at ${progress.done} of the ${progress.users} users it was counted with`,
        'EmailReleaseError',
      );
    progress.done += batch.users;
    progress.failed += batch.failed;
    progress.batches++;
  }
  return { ...progress, release, composed: progress.done - progress.failed };
}
