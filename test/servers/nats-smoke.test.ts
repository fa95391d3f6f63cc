import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { readSettings } from '../../services/config/environment';

test('server smoke (no Cairn code): NATS request-reply with a queue group: each request is answered by exactly one responder', async () => {
  const { natsUrl } = readSettings();
  const subject = `cairn.test.${randomUUID()}`;
  const responders = await Promise.all([connect({ servers: natsUrl }), connect({ servers: natsUrl })]);
  const handled = [0, 0];
  responders.forEach((nc, index) => {
    nc.subscribe(subject, {
      queue: 'cairn-test-responders',
      callback: (_error, message) => {
        handled[index]++;
        message.respond(`${message.string()}:${index}`);
      },
    });
  });
  await Promise.all(responders.map((nc) => nc.flush()));
  const requester = await connect({ servers: natsUrl });
  try {
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => requester.request(subject, String(i), { timeout: 2000 })),
    );
    for (const [i, reply] of replies.entries()) assert.match(reply.string(), new RegExp(`^${i}:[01]$`));
    assert.equal(handled[0] + handled[1], 40, 'a queue group delivers each request once');
  } finally {
    await requester.close();
    await Promise.all(responders.map((nc) => nc.close()));
  }
});
