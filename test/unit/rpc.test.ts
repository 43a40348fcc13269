// The request/response layer between host and webview: ids match, errors travel, and every
// pending request is rejected when a side goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient, serveRequest, type RpcRequest, type RpcResponse } from '../../src/shared/protocol/rpc';

interface Methods {
  add: { params: { a: number; b: number }; result: number };
  fail: { params: null; result: never };
}

function pair() {
  const toServer: RpcRequest[] = [];
  const client = new RpcClient<Methods>((m) => toServer.push(m));
  const handlers = {
    add: ({ a, b }: { a: number; b: number }) => a + b,
    fail: () => {
      throw new Error('boom');
    },
  };
  const pump = async (): Promise<void> => {
    while (toServer.length) {
      const req = toServer.shift()!;
      await serveRequest<Methods>(req, handlers, (r: RpcResponse) => client.handle(r));
    }
  };
  return { client, pump, toServer };
}

test('responses resolve the matching request, out of order too', async () => {
  const { client, toServer } = pair();
  const p1 = client.request('add', { a: 1, b: 2 });
  const p2 = client.request('add', { a: 10, b: 20 });
  const [r1, r2] = [toServer[0]!, toServer[1]!];
  assert.notEqual(r1.id, r2.id);
  await serveRequest<Methods>(r2, { add: ({ a, b }) => a + b, fail: () => 0 as never }, (r) => client.handle(r));
  await serveRequest<Methods>(r1, { add: ({ a, b }) => a + b, fail: () => 0 as never }, (r) => client.handle(r));
  assert.equal(await p1, 3);
  assert.equal(await p2, 30);
  assert.equal(client.pendingCount, 0);
});

test('a throwing handler rejects the request with its message', async () => {
  const { client, pump } = pair();
  const p = client.request('fail', null);
  await pump();
  await assert.rejects(p, /boom/);
});

test('unknown methods are answered with an error, not left pending', async () => {
  const { client } = pair();
  let reply: RpcResponse | undefined;
  const handled = await serveRequest<Methods>({ type: 'request', id: 7, method: 'nope', params: null }, { add: () => 0, fail: () => 0 as never }, (r) => (reply = r));
  assert.equal(handled, true);
  assert.match(reply!.error!, /unknown request nope/);
  assert.equal(client.handle({ type: 'something-else' }), false);
});

test('rejectAll fails every pending request (panel closed)', async () => {
  const { client } = pair();
  const ps = [client.request('add', { a: 1, b: 1 }), client.request('add', { a: 2, b: 2 })];
  client.rejectAll('panel closed');
  for (const p of ps) await assert.rejects(p, /panel closed/);
  assert.equal(client.pendingCount, 0);
});
