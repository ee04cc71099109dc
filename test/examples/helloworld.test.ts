// The helloworld example: a greeting through one channel names the backend that answered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { greet } from '../../examples/helloworld/client.js';
import { startGreeterServer } from '../../examples/helloworld/server.js';

void test('greet gets one greeting per call, each naming the backend', async (t) => {
  const server = await startGreeterServer({ name: 'g1' });
  t.after(() => server.kill());
  const greetings = await greet(server.address, { name: 'switchyard', count: 3 });
  assert.deepEqual(
    greetings,
    Array.from({ length: 3 }, () => ({ message: 'Hello switchyard from g1', backend: 'g1' })),
  );
  assert.equal(server.calls, 3);
});

void test('greet rejects when nothing listens', async (t) => {
  const server = await startGreeterServer({ name: 'gone' });
  const address = server.address;
  server.kill();
  t.after(() => server.close());
  await assert.rejects(greet(address, { deadlineMs: 500 }), { code: 14 });
});
