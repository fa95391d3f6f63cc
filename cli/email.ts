/** `cairn email`: one email campaign, its slates composed by the champion and sent to the topic. */
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmailSegment, type EmailSlatesRequest, emailSlatesInputSchema } from '../schemas/email';
import { describeIssues } from '../schemas/issues';
import type { CairnSettings } from '../services/config/environment';
import { temporalClient } from '../services/orchestration/temporal';
import type { EmailProgress, EmailSlatesResult } from '../workflows/email-slates';
import type { Command } from './commands';
import { runPipelineWorker } from './worker';

/**
 * `all`, `cohort:gender=F,age=25-34,occupation=writer` (any of the three), `active:30`,
 * `users:1,2,3`: the segment as the workflow takes it (still to be validated), or why not.
 */
export function segmentOf(text: string): unknown {
  const colon = text.indexOf(':');
  const kind = colon === -1 ? text : text.slice(0, colon);
  const rest = colon === -1 ? '' : text.slice(colon + 1);
  switch (kind) {
    case 'all':
      return colon === -1 ? { kind } : `'all' takes no argument, got '${text}'`;
    case 'active':
      return { kind, days: /^\d+$/.test(rest) ? Number(rest) : rest };
    case 'users':
      return { kind, userIds: rest.split(',').filter((id) => id !== '') };
    case 'cohort': {
      const fields: Record<string, string> = { gender: 'gender', age: 'ageBand', occupation: 'occupation' };
      const cohort: Record<string, string> = { kind };
      for (const pair of rest.split(',').filter((p) => p !== '')) {
        const [name, value] = pair.split('=', 2);
        if (fields[name] === undefined || value === undefined)
          return `cohort field '${pair}': expected gender=…, age=… or occupation=…`;
        cohort[fields[name]] = value;
      }
      return cohort;
    }
    default:
      return `unknown segment '${text}': expected all, cohort:…, active:<days> or users:<id,…>`;
  }
}

/** The command line's campaign, validated as the workflow's first activity would; or why not. */
export function emailCampaignOf(values: Record<string, unknown>): EmailSlatesRequest | string {
  if (typeof values.segment !== 'string') return '--segment is required';
  const segment = segmentOf(values.segment);
  if (typeof segment === 'string') return segment;
  const integer = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);
  const parsed = emailSlatesInputSchema.safeParse({
    segment,
    k: integer(values.k),
    batchSize: integer(values.batch),
    campaign: values.campaign ?? `email-${new Date().toISOString().slice(0, 10)}`,
  });
  return parsed.success ? parsed.data : describeIssues(parsed.error);
}

const describeSegment = (s: EmailSegment): string =>
  s.kind === 'users' ? `${s.userIds.length} listed users` : JSON.stringify(s);

export async function runEmailCampaign(
  settings: CairnSettings,
  campaign: EmailSlatesRequest,
  inProcess: boolean,
): Promise<EmailSlatesResult> {
  const client = await temporalClient(settings);
  try {
    const handle = await client.workflow.start('emailSlates', {
      taskQueue: settings.pipelineTaskQueue,
      workflowId: `${settings.prefix}cairn-email-${campaign.campaign}`,
      args: [campaign],
    });
    console.log(`workflow ${handle.workflowId} started: ${describeSegment(campaign.segment)}`);
    const started = Date.now();
    const watch = async (): Promise<EmailSlatesResult> => {
      const result = handle.result() as Promise<EmailSlatesResult>;
      let finished = false;
      const finish = () => {
        finished = true;
      };
      result.then(finish, finish);
      let shown = '';
      while (!finished) {
        const p = await handle.query<EmailProgress>('progress').catch(() => undefined);
        const line =
          p === undefined
            ? ''
            : `${p.done}/${p.users} users, ${p.batches} batches, ${p.failed} without a slate`;
        if (line !== shown && line !== '') {
          console.log(`  [${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);
          shown = line;
        }
        await Promise.race([result.catch(() => undefined), sleep(500)]);
      }
      return result;
    };
    return inProcess ? ((await runPipelineWorker(settings, watch())) as EmailSlatesResult) : await watch();
  } finally {
    await client.connection.close();
  }
}

export const emailCommand: Command = {
  name: 'email',
  summary: 'compose email slates for a segment of users and send them to cairn.email-slates.v1',
  help: `cairn email --segment SEGMENT [--k 10] [--batch 200] [--campaign NAME] [--external]

Starts the emailSlates workflow: the champion release is pinned for the whole campaign, the
segment is resolved against its training snapshot, and each user's slate (the serving pipeline
on the email surface, without exploration) goes to cairn.email-slates.v1, keyed by user. The
slate id is the same for a campaign and user every time, so consumers dedupe re-sent slates.
  --segment SEGMENT  all | cohort:gender=F,age=25-34,occupation=writer (any of the three; age
                     bands under-18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+) | active:DAYS (an
                     interaction within DAYS of the newest one) | users:ID,ID,…
  --k N              items per slate (default 10)
  --batch N          users per batch (default 200)
  --campaign NAME    names the campaign and its workflow (default email-<today>)
  --external         leave the work to 'cairn worker' processes instead of a worker in this one`,
  options: {
    segment: { type: 'string' },
    k: { type: 'string' },
    batch: { type: 'string' },
    campaign: { type: 'string' },
    external: { type: 'boolean' },
  },
  async run({ settings, values }) {
    const campaign = emailCampaignOf(values);
    if (typeof campaign === 'string') {
      console.error(`cairn email: ${campaign}`);
      return 2;
    }
    const result = await runEmailCampaign(settings, campaign, values.external !== true);
    console.log(
      `campaign ${campaign.campaign}: ${result.composed} slates from release ${result.release} to ${settings.topics.emailSlates}` +
        ` (${result.users} users, ${result.batches} batches, ${result.failed} without a slate)`,
    );
    return 0;
  },
};
