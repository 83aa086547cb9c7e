// Issue 11, paying inside each app: after a payer opens a bill inside WeChat (JSAPI order, kept in
// pay_orders.pay_url as "jsapi:{openid}:{prepay_id}"), the same bill opened in another browser with WeChat
// chosen gets a Native order (a code_url), the JSAPI one closed first; never the JSAPI row (it is
// unpayable there and holds the first payer's openid). A JSAPI order lives as long as the bill is payable.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSimulatorKeys } from '../../hub/channels/simulator.ts';
import { ManualClock } from '../../protocol/time.ts';
import { enrollDevice, sampleFine, TestDevice } from '../hub/helpers.ts';
import { PLAIN_UA, WECHAT_UA, openPayPage, startPayHub, type PayHubFixture } from '../payments/helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');
let f: PayHubFixture;
const clock = new ManualClock(T0);
const dev = new TestDevice('kiosk0jsa', clock);

beforeAll(async () => {
  f = await startPayHub('pglite', clock, generateSimulatorKeys(), { jsapi: true });
  await enrollDevice({ db: f.db, hub: f.hub, app: f.app, url: f.url, close: async () => undefined }, dev);
});
afterAll(async () => f?.close());

it('a bill opened in WeChat (JSAPI), then in another browser with WeChat chosen, gets a payable Native code', async () => {
  const decisionNo = '220000000000077701';
  await f.hub.fines.importRows([sampleFine(decisionNo, '110000', { fineFen: 20000, decidedOn: '2026-11-20' })]);
  const b = dev.issueBill(decisionNo, 20000);
  const url = `${f.url}/p/${b.token}`;
  // Inside WeChat: OAuth2 snsapi_base, then the JSAPI page.
  const first = await fetch(url, { headers: { 'user-agent': WECHAT_UA }, redirect: 'manual' });
  expect(first.status).toBe(302);
  const back = await fetch(new URL(first.headers.get('location')!), { redirect: 'manual' });
  const jsapi = await fetch(back.headers.get('location')!, { headers: { 'user-agent': WECHAT_UA } });
  expect(jsapi.status).toBe(200);
  expect(await jsapi.text()).toContain('data-jsapi=');

  // The same bill on a computer's browser, WeChat chosen.
  const other = await openPayPage(`${url}?channel=wechat`, PLAIN_UA);
  expect({ status: other.status, payUrl: other.payUrl?.replace(/:o[^:]+:/, ':{openid}:') }).toMatchObject({
    status: 200,
    // A Native code_url (the simulator serves its own pay page for it); never the JSAPI row.
    payUrl: expect.stringMatching(/^(weixin:\/\/|http:\/\/127\.0\.0\.1:\d+\/sim\/pay\/wechat\/)/),
  });
  expect(other.html).not.toContain('jsapi:');
  const rows = await f.db.query<{ status: string; pay_url: string | null; expires_at: string }>(
    "SELECT status, pay_url, expires_at FROM pay_orders WHERE bill_no = $1 AND channel = 'wechat' ORDER BY created_at, out_trade_no",
    [b.billNo],
  );
  const jsapiRow = rows.rows.find((r) => r.pay_url?.startsWith('jsapi:'));
  expect(jsapiRow?.status).toBe('closed');
  expect(rows.rows.filter((r) => r.status === 'open').map((r) => r.pay_url === other.payUrl)).toEqual([true]);
});
