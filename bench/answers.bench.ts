// Signed hub answers (issue 10, protocol/answers.ts): what signing costs the hub per answer (the current key's
// query, sha256 of the body, Ed25519) and what verifying costs the kiosk, beside what building the same answer
// costs (the pull's queries and JSON) in the same run: a full page of 2,000 fines and an empty long-poll answer.
// PostgreSQL from DATABASE_URL, else PGlite.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openHubDb } from '../hub/db.ts';
import { createHubService } from '../hub/service/index.ts';
import { answerSigner } from '../hub/trust/answers.ts';
import { HEADER_HUB_KEYS, HEADER_HUB_SIGNATURE, verifyAnswer } from '../protocol/answers.ts';
import { generateKeyPair, publicKeyFromRaw, publicKeyToRaw } from '../protocol/signing.ts';
import { fmtMs, measure, printSection, type Stats } from './lib.ts';

const FINES = 2000;

export async function run(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const schema = `bench_ans_${randomBytes(4).toString('hex')}`;
  const db = url ? await openHubDb({ databaseUrl: url, schema }) : await openHubDb({});
  try {
    const hub = createHubService({ db });
    await hub.keys.current();
    // One rotation, so every answer carries a key chain as after a real rotation.
    await hub.keys.rotate();
    const rows = Array.from({ length: FINES }, (_, i) => ({
      decisionNo: `3101012026${String(i).padStart(6, '0')}`,
      region: '310101',
      plate: '沪A12345',
      vehicleIdLast6: '123456',
      violationCode: '1039',
      description: '违反禁令标志指示',
      place: '人民大道',
      occurredAt: '2026-05-01T08:30:00+08:00',
      decidedOn: '2026-05-03',
      fineFen: 20000,
      points: 3,
      status: 'unpaid',
    }));
    const imp = await hub.fines.importRows(rows);
    if (!imp.ok) throw new Error(imp.error.message);
    const code = await hub.devices.add({ name: 'bench', region: '310101' });
    if (!code.ok) throw new Error(code.error.message);
    const kp = generateKeyPair();
    const deviceId = 'benchans01';
    const en = await hub.enroll({ code: code.value.code, publicKey: publicKeyToRaw(kp.publicKey), deviceId });
    if (!en.ok) throw new Error(en.error.message);
    const dev = (await hub.devices.get(deviceId))!;
    // The kiosk trusts the first key only: it verifies through the announcement the answers carry.
    const first = en.value.hubKeys[0]!;
    const trusted = new Map([[first.keyId, { key: publicKeyFromRaw(first.publicKey)!, retiredAt: null }]]);
    const sign = answerSigner({ db, ensureKey: () => hub.keys.current() });

    const lines = [];
    for (const [label, cursor] of [
      [`a page of ${FINES.toLocaleString('en-US')} fines`, 0],
      ['an empty long-poll answer', 1_000_000_000_000],
    ] as const) {
      const body = JSON.stringify(await hub.pull(dev, cursor, FINES));
      const binding = {
        deviceId,
        method: 'GET',
        path: `/v1/sync/pull?cursor=${cursor}`,
        nonce: 'n'.repeat(22),
        status: 200,
      };
      const headers = await sign(binding, body);
      const check = verifyAnswer(
        binding,
        body,
        headers[HEADER_HUB_SIGNATURE],
        headers[HEADER_HUB_KEYS],
        (id) => trusted.get(id),
      );
      if (!check.ok) throw new Error(check.error.message);
      // Alternating slices of each, so a busy machine weighs on all three alike; the median of the slices'
      // medians and of their p99s is reported.
      const got: Stats[][] = [[], [], []];
      const n = cursor === 0 ? 20 : 100;
      for (let slice = 0; slice < 5; slice++) {
        got[0]!.push(await measure(n, async () => JSON.stringify(await hub.pull(dev, cursor, FINES)), 2));
        got[1]!.push(await measure(n, () => sign(binding, body), 2));
        got[2]!.push(
          await measure(
            n,
            () =>
              verifyAnswer(binding, body, headers[HEADER_HUB_SIGNATURE], headers[HEADER_HUB_KEYS], (id) =>
                trusted.get(id),
              ),
            2,
          ),
        );
      }
      const mid = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      const [a, s, v] = got.map((g) => ({
        p50: mid(g.map((x) => x.p50)),
        p99: mid(g.map((x) => x.p99)),
      })) as [{ p50: number; p99: number }, { p50: number; p99: number }, { p50: number; p99: number }];
      const fmt = (x: { p50: number; p99: number }): string => `p50 ${fmtMs(x.p50)}, p99 ${fmtMs(x.p99)}`;
      lines.push(
        {
          name: `${label} (${(body.length / 1024).toFixed(0)} KiB): built by the hub`,
          value: fmt(a),
          anchor: 'baseline, same run',
        },
        {
          name: `${label}: signed by the hub`,
          value: fmt(s),
          anchor: `${((s.p50 / a.p50) * 100).toFixed(0)}% of building it`,
        },
        {
          name: `${label}: verified by the kiosk`,
          value: fmt(v),
          anchor: `${((v.p50 / a.p50) * 100).toFixed(0)}% of building it`,
        },
      );
    }
    printSection(
      `Signed hub answers (${url ? 'PostgreSQL' : 'PGlite'}; signing key reached through one rotation)`,
      lines,
    );
  } finally {
    await db.close();
    if (url) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
}
