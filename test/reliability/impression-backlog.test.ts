import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Producer } from 'kafkajs';
import { ImpressionLog } from '../../services/serving/impression-log';

// Found by the soak on a loaded machine: Kafka answered slowly, impressions piled up, and the
// whole backlog went out as one request the broker refused as larger than its message size
// limit, on every retry, while serving kept adding to it.
test('a backlog of impressions built while the broker was down is sent in batches the broker accepts', async () => {
  const batchSize = 50;
  const sends: number[] = [];
  let down = true;
  const producer: Pick<Producer, 'send'> = {
    async send(record) {
      if (down) throw new Error('broker down');
      // The broker's limit, as a message count for the test: anything over two batches.
      if (record.messages.length > 2 * batchSize)
        throw new Error(
          'The request included a message larger than the max message size the server will accept',
        );
      sends.push(record.messages.length);
      return [];
    },
  };
  const log = new ImpressionLog(producer, 'topic', batchSize, 60_000, () => undefined);
  const impression = (n: number) => ({
    slateId: `s${n}`,
    userId: `u${n % 7}`,
    surface: 'homepage' as const,
    servedAt: Date.now(),
    variant: 'control',
    modelVersions: { retrieval: 'v1' },
    items: [{ itemId: 'i', position: 0, score: 1, propensity: 1 }],
  });
  for (let n = 0; n < 1_000; n++) {
    log.record(impression(n));
    if (n % 100 === 99) await log.flush();
  }
  assert.equal(log.pending, 1_000, 'nothing sent while the broker is down, nothing dropped');
  down = false;
  log.record(impression(1_000));
  await log.flush();
  await log.close();
  assert.equal(log.pending, 0);
  assert.equal(log.sent, 1_001);
  assert.ok(
    sends.every((n) => n <= batchSize),
    `every request at most one batch: ${sends.join(', ')}`,
  );
});
