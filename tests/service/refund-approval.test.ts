// A refund's approval has one record, on the refund (pay_refunds): the console's op, `hub refund approve`
// and `hub pay refund` all write it through one function and read it back through one listing; an
// automatic hub (no approval asked) keeps its other flagged refunds automatic when an operator approves
// one; migration 9 folds the earlier refund_approvals copy into the refund and drops it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin } from '../../hub/admin.ts';
import { migrate, type HubDb } from '../../hub/db.ts';
import { hubMigrations } from '../../hub/migrations/index.ts';
import { createRefunds, type RefundRecord } from '../../hub/pay/refunds.ts';
import { createHubService, type HubService } from '../../hub/service/index.ts';
import { ManualClock } from '../../protocol/time.ts';
import { openTestDb, STORAGES } from '../hub/helpers.ts';

const T0 = Date.parse('2026-11-21T02:00:00Z');

describe.each(STORAGES)('refund approval, one record (%s)', (storage) => {
  let db: HubDb;
  let drop: () => Promise<void>;
  let hub: HubService;
  let clock: ManualClock;
  // One storage for the file (each test its own refunds): opening PGlite is the slow part.
  beforeAll(async () => {
    ({ db, drop } = await openTestDb(storage));
    clock = new ManualClock(T0);
    hub = createHubService({ db, clock });
  });
  afterAll(async () => {
    await drop();
  });

  const flag = async (txnId: string, status = 'flagged'): Promise<void> => {
    await db.query(
      `INSERT INTO pay_refunds (channel, txn_id, bill_no, out_trade_no, amount_fen, reason, created_at, status)
       VALUES ('wechat', $1, 'BK1-1', 'BK1_1_W0000', 20000, 'bill already paid by another transaction', 1, $2)`,
      [txnId, status],
    );
  };
  const list = async (op: 'refund.list' | 'pay.refunds'): Promise<RefundRecord[]> => {
    const r = await runAdmin(hub, op, {});
    if (!r.ok) throw new Error(r.error.message);
    return r.value as RefundRecord[];
  };

  it('is kept on the refund, read the same by every listing, and approving twice changes nothing', async () => {
    await flag('4200000001', 'pending_approval');
    const r = await runAdmin(hub, 'refund.approve', { channel: 'wechat', txnId: '4200000001' }, 'operator:ops1');
    expect(r.ok).toBe(true);
    const want = {
      txnId: '4200000001',
      status: 'approved',
      approvedBy: 'operator:ops1',
      approvedAt: hub.nowS(),
      outRefundNo: 'RFW_4200000001',
      // A reason written before reasons were codes reads as the catalogue's words, in both languages.
      reasonText: { zh: '缴款单已缴纳', en: 'The bill is already paid' },
    };
    expect(r.ok && r.value).toMatchObject(want);
    expect(await list('refund.list')).toEqual([expect.objectContaining(want)]);
    expect(await list('pay.refunds')).toEqual(await list('refund.list'));
    // The refund job was queued once, under its request number.
    const jobs = await db.query<{ kind: string; job_key: string }>(
      "SELECT kind, job_key FROM pay_jobs WHERE payload LIKE '%4200000001%'",
    );
    expect(jobs.rows).toEqual([{ kind: 'refund', job_key: 'RFW_4200000001' }]);

    // The CLI's other spelling, later, by someone else: already approved, nothing changes.
    clock.advance(60_000);
    const again = await runAdmin(hub, 'pay.refund', { channel: 'wechat', txnId: '4200000001' }, 'cli');
    expect(again.ok && again.value).toMatchObject(want);
    expect(await list('refund.list')).toEqual([expect.objectContaining(want)]);

    // Both approvals are in the audit log with their actors and target.
    const audit = await runAdmin(hub, 'audit.read', { limit: 10 });
    const rows = (audit.ok ? audit.value : []) as { actor: string; action: string; target: string | null }[];
    expect(rows.filter((x) => x.target === '4200000001').map((x) => [x.actor, x.action])).toEqual([
      ['cli', 'pay.refund'],
      ['operator:ops1', 'refund.approve'],
    ]);
    // The table that held a second copy is gone.
    const t = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'refund_approvals' AND table_schema = current_schema()");
    expect(t.rows).toHaveLength(0);
  });

  it('a failed refund is retried by an approval; an unknown one is NOT_FOUND', async () => {
    await flag('4200000002', 'failed');
    const r = await runAdmin(hub, 'refund.approve', { channel: 'wechat', txnId: '4200000002' }, 'operator:ops1');
    expect(r.ok && r.value).toMatchObject({ status: 'approved', approvedBy: 'operator:ops1' });
    const missing = await runAdmin(hub, 'refund.approve', { channel: 'wechat', txnId: 'nope' }, 'operator:ops1');
    expect(!missing.ok && missing.error.code).toBe('NOT_FOUND');
  });

  it('approving one refund on an automatic hub leaves the other flagged ones automatic', async () => {
    await flag('4200000003');
    await flag('4200000004');
    const r = await runAdmin(hub, 'refund.approve', { channel: 'wechat', txnId: '4200000003' }, 'operator:ops1');
    expect(r.ok).toBe(true);
    // The hub's worker admits the other one under the hub's own setting: approved, no operator named.
    const auto = createRefunds({ db, channels: {}, now: () => hub.nowS(), approval: false });
    await auto.admitFlagged();
    const all = await list('refund.list');
    expect(all.find((x) => x.txnId === '4200000004')).toMatchObject({ status: 'approved', approvedBy: null });
    expect(all.find((x) => x.txnId === '4200000003')).toMatchObject({ status: 'approved', approvedBy: 'operator:ops1' });
  });

  it('migration 9 keeps who approved and when from the dropped refund_approvals table', async () => {
    // The storage as migration 7 left it: approvals in their own table.
    await db.query('DELETE FROM hub_migrations WHERE id = 9');
    await db.query('ALTER TABLE pay_refunds DROP COLUMN approved_at');
    await db.query(
      `CREATE TABLE refund_approvals (channel text NOT NULL, txn_id text NOT NULL, approved_by text NOT NULL,
         approved_at bigint NOT NULL, PRIMARY KEY (channel, txn_id))`,
    );
    await flag('4200000005', 'approved');
    await flag('4200000006', 'pending_approval');
    await db.query(
      "INSERT INTO refund_approvals VALUES ('wechat', '4200000005', 'operator:ops1', 1763690000)",
    );
    await migrate(db, hubMigrations);
    const all = await list('refund.list');
    expect(all.find((x) => x.txnId === '4200000005')).toMatchObject({
      approvedBy: 'operator:ops1',
      approvedAt: 1763690000,
    });
    expect(all.find((x) => x.txnId === '4200000006')).toMatchObject({ approvedBy: null, approvedAt: null });
  });
});
