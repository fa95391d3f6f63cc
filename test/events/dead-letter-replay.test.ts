import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { deadLetterCommand, replayChoiceOf } from '../../cli/deadletter';
import type { CairnSettings } from '../../services/config/environment';
import { repositoryRoot } from '../../services/config/environment';
import { scratchNamespace } from '../../services/config/scratch-namespace';
import { replayHeader } from '../../services/events/dead-letter-replay';
import { eventProducer, kafkaClient } from '../../services/events/kafka';
import { StoreProjector } from '../../services/events/store-projector';
import type { EventStream } from '../../services/events/topics';
import { InteractionStore } from '../../services/store/interaction-store';
import { waitFor } from '../support/wait';

const run = promisify(execFile);
const now = Date.now();

/** `cairn deadletter replay …` as deployed: a child process in the namespace; its stdout. */
async function replay(settings: CairnSettings, ...args: string[]): Promise<string> {
  const { stdout } = await run(join(repositoryRoot, 'bin/cairn'), ['deadletter', 'replay', ...args], {
    env: { ...process.env, CAIRN_PREFIX: settings.prefix },
    timeout: 180_000,
  });
  return stdout;
}

/** Every message now on a topic with the replay header, by what it replays. */
async function replaysOn(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const expected = ends.reduce((n, p) => n + Number(p.high), 0);
  const seen: string[] = [];
  let read = 0;
  const groupId = `${topic}-reader-${randomUUID().slice(0, 8)}`;
  const reader = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await reader.connect();
  try {
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        read++;
        const of = message.headers?.[replayHeader]?.toString();
        if (of !== undefined) seen.push(of);
      },
    });
    await waitFor(() => read >= expected, { what: `${topic} read to its end`, timeoutMs: 60_000 });
  } finally {
    await reader.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return seen;
}

test('replay options are validated', () => {
  assert.deepEqual(replayChoiceOf({}), {
    reason: undefined,
    fromOffset: 0n,
    limit: undefined,
    dryRun: false,
  });
  assert.deepEqual(
    replayChoiceOf({ reason: 'unknown item', 'from-offset': '3', limit: '2', 'dry-run': true }),
    {
      reason: 'unknown item',
      fromOffset: 3n,
      limit: 2,
      dryRun: true,
    },
  );
  for (const [name, value] of [
    ['limit', '0'],
    ['limit', '-1'],
    ['limit', '1.5'],
    ['from-offset', 'x'],
    ['from-offset', '1e3'],
    ['limit', '99999999999999999999'],
    ['reason', ''],
  ])
    assert.equal(typeof replayChoiceOf({ [name]: value }), 'string', `--${name} ${value}`);
  assert.ok('dry-run' in deadLetterCommand.options);
});

test('a letter rejected for an unknown item lands once in the store after the item exists, however often replay runs', async () => {
  const settings = await scratchNamespace('dlr');
  const kafka = kafkaClient(settings, 'cairn-test');
  const producer = eventProducer(kafka);
  await producer.connect();
  const store = await InteractionStore.open(settings.storeDir);
  const projector = new StoreProjector({
    kafka,
    store,
    topics: settings.topics,
    groupId: settings.consumerGroups.store,
  });
  const send = (stream: EventStream, key: string, value: unknown) =>
    producer.send({
      topic: settings.topics[stream],
      acks: -1,
      messages: [{ key, value: typeof value === 'string' ? value : JSON.stringify(value) }],
    });
  const click = (eventId: string, itemId: string) => ({
    eventId,
    type: 'click',
    userId: 'u1',
    itemId,
    occurredAt: now,
    surface: 'homepage',
  });
  const item = (itemId: string) => ({
    eventId: `i-${itemId}`,
    type: 'item_created',
    itemId,
    occurredAt: now,
    title: itemId,
    categories: ['Drama'],
    year: 2001,
  });
  try {
    await send('users', 'u1', {
      eventId: 'u-u1',
      type: 'user_created',
      userId: 'u1',
      occurredAt: now,
      demographics: {},
    });
    await send('catalog', 'i1', item('i1'));
    await projector.start();
    await send('interactions', 'u1', click('c-1', 'i1'));
    await send('interactions', 'u1', click('c-early', 'i9'));
    await send('interactions', 'u1', '{"eventId": "broken"');
    await waitFor(() => projector.progress.deadLettered === 2, {
      what: 'two dead letters',
      timeoutMs: 60_000,
    });
    assert.equal(store.counts().interactions, 1);

    // The fix: the item the click referred to now exists.
    await send('catalog', 'i9', item('i9'));
    await waitFor(() => store.itemIndexOf('i9') !== undefined, {
      what: 'item i9 in the store',
      timeoutMs: 60_000,
    });

    const dry = await replay(settings, '--reason', 'unknown item', '--dry-run');
    assert.match(
      dry,
      /would replay .*cairn\.deadletter\.v1\/\d+\/\d+ → .*cairn\.interactions\.v1\/\d+ .*unknown item i9/,
    );
    assert.match(dry, /would replay 1, already replayed 0/);
    assert.deepEqual(await replaysOn(kafka, settings.topics.interactions), []);

    const first = await replay(settings, '--reason', 'unknown item');
    assert.match(first, /replayed 1, already replayed 0/);
    await waitFor(() => store.counts().interactions === 2, {
      what: 'the replayed click in the store',
      timeoutMs: 60_000,
    });

    const second = await replay(settings, '--reason', 'unknown item');
    assert.match(second, /replayed 0, already replayed 1/);
    // Without the filter the broken JSON is chosen too, and the click is still not sent again.
    const third = await replay(settings, '--limit', '5');
    assert.match(third, /replayed 1, already replayed 1/);
    await waitFor(() => projector.progress.deadLettered === 3, {
      what: 'the broken JSON rejected again, as a new letter',
      timeoutMs: 60_000,
    });

    const replays = await replaysOn(kafka, settings.topics.interactions);
    assert.equal(replays.length, 2, `replays on the topic: ${replays}`);
    assert.equal(new Set(replays).size, 2);
    assert.equal(store.counts().interactions, 2);
    assert.deepEqual(
      { applied: projector.progress.applied, duplicates: projector.progress.duplicates },
      { applied: 5, duplicates: 0 },
    );
  } finally {
    await projector.stop();
    await producer.disconnect();
    await store.close();
    await settings.cleanup();
  }
});
