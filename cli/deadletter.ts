/** `cairn deadletter replay`: chosen dead letters back to their source topics, once each. */
import {
  type DeadLetterRecord,
  type ReplayChoice,
  replayDeadLetters,
} from '../services/events/dead-letter-replay';
import { kafkaClient } from '../services/events/kafka';
import type { Command, CommandContext } from './commands';

/** The command's options, validated; a string is the refusal. */
export function replayChoiceOf(values: CommandContext['values']): ReplayChoice | string {
  const whole = (name: string, min: number): number | undefined | string => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    return typeof raw === 'string' && /^[0-9]+$/.test(raw) && Number.isSafeInteger(n) && n >= min
      ? n
      : `--${name} must be an integer of at least ${min}, got '${String(raw)}'`;
  };
  const fromOffset = whole('from-offset', 0);
  const limit = whole('limit', 1);
  if (typeof fromOffset === 'string') return fromOffset;
  if (typeof limit === 'string') return limit;
  const reason = values.reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason === ''))
    return '--reason must be a non-empty text';
  return { reason, fromOffset: BigInt(fromOffset ?? 0), limit, dryRun: values['dry-run'] === true };
}

const describe = (l: DeadLetterRecord) =>
  `${l.id} → ${l.source.topic}/${l.source.partition} (was offset ${l.source.offset}: ${l.reason})`;

export const deadLetterCommand: Command = {
  name: 'deadletter',
  summary: 'replay chosen dead letters to their source topics after a fix, once each',
  help: `cairn deadletter replay [--reason TEXT] [--from-offset N] [--limit N] [--dry-run]

Re-publishes dead letters (the original key and bytes) to the topic and partition they were
rejected from, entity streams first, each in log order. Each replay carries the header
cairn.replay.of=<dead-letter topic>/<partition>/<offset>; a letter that already has a replay on
its source partition is skipped, so running the command twice publishes nothing the second time.
A replay the consumer rejects again becomes a new dead letter. Run one replay at a time.
  --reason TEXT    only letters whose reason contains TEXT (e.g. 'unknown item')
  --from-offset N  only letters at offset N or later of each dead-letter partition
  --limit N        replay at most N letters (the rest on a later run)
  --dry-run        list what would be replayed; publish nothing`,
  options: {
    reason: { type: 'string' },
    'from-offset': { type: 'string' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  async run({ settings, positionals, values }) {
    const choice = replayChoiceOf(values);
    if (positionals[0] !== 'replay' || positionals.length > 1 || typeof choice === 'string') {
      console.error(`cairn deadletter: ${typeof choice === 'string' ? choice : 'expected replay'}`);
      return 2;
    }
    const kafka = kafkaClient(settings, 'cairn-deadletter-replay');
    const outcome = await replayDeadLetters(kafka, settings.topics, choice, settings.prefix);
    const verb = choice.dryRun ? 'would replay' : 'replayed';
    for (const l of outcome.replayed) console.log(`${verb} ${describe(l)}`);
    for (const l of outcome.foreign) console.log(`not replayable (source not an event topic) ${describe(l)}`);
    console.log(
      `${verb} ${outcome.replayed.length}, already replayed ${outcome.alreadyReplayed.length}` +
        `, left by --limit ${outcome.beyondLimit}, not replayable ${outcome.foreign.length}`,
    );
    return 0;
  },
};
