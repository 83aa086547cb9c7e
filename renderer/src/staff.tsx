// The staff console: PIN login (locks after repeated failures, enforced by the backend), then issue,
// reprint and void bills, confirm payments, today's records, the shift report, printer, sync and device.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ShiftReport } from '../../main/shift/shift.ts';
import type { Failure, Result } from '../../protocol/result.ts';
import { api, type Value } from './api.ts';
import { FailureText, Keypad, money, when } from './components.tsx';
import { PaperCheck, unverifiedJob, type PrintedAnswer } from './paper.tsx';
import { createWedgeDetector, scanKeyListener } from './wedge.ts';

export interface StaffSession {
  session: string;
  name: string;
  staffId: string;
}

export function StaffLogin(props: { onLogin(s: StaffSession): void; onBack(): void }) {
  const { t } = useTranslation();
  const [pin, setPin] = useState('');
  const [error, setError] = useState<Failure>();
  const submit = async () => {
    const r = await api.staffLogin({ pin });
    setPin('');
    if (!r.ok) return setError(r.error);
    props.onLogin({ session: r.value.session, name: r.value.name, staffId: r.value.staffId });
  };
  const left = error?.details?.attemptsLeft;
  return (
    <main className="screen">
      <h1>{t('staff.loginTitle')}</h1>
      <Keypad value={pin} onChange={setPin} maxLength={12} label={t('staff.pin')} mask />
      {error && (
        <p className="notice warn" role="alert" data-testid="login-error" data-code={error.code}>
          <FailureText error={error} />
          {typeof left === 'number' && <> · {t('staff.attemptsLeft', { n: left })}</>}
        </p>
      )}
      <div className="actions">
        <button type="button" className="btn" onClick={props.onBack}>
          {t('staff.back')}
        </button>
        <button type="button" className="btn primary" disabled={pin.length < 4} onClick={() => void submit()}>
          {t('staff.login')}
        </button>
      </div>
    </main>
  );
}

type Tab = 'issue' | 'today' | 'confirm' | 'shift' | 'printer' | 'sync' | 'device';
const TABS: Tab[] = ['issue', 'today', 'confirm', 'shift', 'printer', 'sync', 'device'];

type Msg = { kind: 'ok'; text: string } | { kind: 'error'; error: Failure } | undefined;

function Message({ msg }: { msg: Msg }) {
  if (!msg) return null;
  return msg.kind === 'ok' ? (
    <p className="notice ok" role="status" data-testid="staff-ok">
      {msg.text}
    </p>
  ) : (
    <p className="notice warn" role="alert" data-testid="staff-error" data-code={msg.error.code}>
      <FailureText error={msg.error} />
    </p>
  );
}

/**
 * One text field and its button. The field has the focus from the start and gets it back after each
 * submit, so a barcode scanner (a keyboard that types fast and presses Enter) works without a tap.
 */
/**
 * One text field and its button. With `scans` (the 确认支付 tab), a scan made while focus is elsewhere
 * (after any tap) is taken as this field's input and submitted, never lost.
 */
function TextForm(props: {
  label: string;
  submit: string;
  id: string;
  scans?: { gapMs: number };
  onSubmit(v: string): Promise<void>;
}) {
  const [v, setV] = useState('');
  const ref = useRef<HTMLInputElement>(null);
  const submitRef = useRef(props.onSubmit);
  submitRef.current = props.onSubmit;
  useEffect(() => ref.current?.focus(), []);
  const gapMs = props.scans?.gapMs;
  useEffect(() => {
    if (gapMs === undefined) return;
    const wedge = createWedgeDetector({
      clock: { now: () => performance.now() },
      maxGapMs: gapMs,
      onScan: (code) => {
        setV('');
        void submitRef.current(code.trim()).then(() => ref.current?.focus());
      },
    });
    const onKey = scanKeyListener(wedge);
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [gapMs]);
  const go = async (e: FormEvent) => {
    e.preventDefault();
    if (!v.trim()) return;
    await props.onSubmit(v.trim());
    setV('');
    ref.current?.focus();
  };
  return (
    <form className="text-form" onSubmit={(e) => void go(e)}>
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        ref={ref}
        value={v}
        onChange={(e) => setV(e.target.value)}
        autoComplete="off"
        spellCheck={false}
      />
      <button type="submit" className="btn primary">
        {props.submit}
      </button>
    </form>
  );
}

function ShiftTable({ report }: { report: ShiftReport }) {
  const { t } = useTranslation();
  return (
    <table className="table" data-testid="shift-report">
      <caption>
        {t('staff.shift.period')}: {when(report.openedAt)} – {when(report.closedAt)}
      </caption>
      <thead>
        <tr>
          <th scope="col">{t('staff.shift.channel')}</th>
          <th scope="col">{t('staff.shift.count')}</th>
          <th scope="col">{t('staff.shift.amount')}</th>
        </tr>
      </thead>
      <tbody>
        {(['alipay', 'wechat', 'issued', 'voided'] as const).map((k) => (
          <tr key={k} data-row={k}>
            <th scope="row">{t(`staff.shift.rows.${k}`)}</th>
            <td>{report.totals[k]?.count ?? 0}</td>
            <td>{money(report.totals[k]?.amountFen ?? 0)}</td>
          </tr>
        ))}
        <tr>
          <th scope="row">{t('staff.shift.paid')}</th>
          <td />
          <td data-testid="shift-paid">{money(report.paidFen)}</td>
        </tr>
      </tbody>
      {((report.voids?.length ?? 0) > 0 || (report.reprints?.length ?? 0) > 0) && (
        <tfoot data-testid="shift-voids">
          {(report.voids ?? []).map((v) => (
            <tr key={v.billNo}>
              <th scope="row">{t('staff.shift.rows.voided')}</th>
              <td>{v.billNo}</td>
              <td>{v.reason}</td>
            </tr>
          ))}
          {(report.reprints ?? []).map((c, i) => (
            <tr key={`${c.billNo}-${i}`} data-testid="shift-reprint">
              <th scope="row">{t('staff.shift.rows.reprint')}</th>
              <td>{c.billNo}</td>
              <td>
                {c.by === 'staff'
                  ? t('staff.shift.byStaff', { id: c.staffName ?? c.staffId ?? '' })
                  : t('staff.shift.byScan')}
              </td>
            </tr>
          ))}
        </tfoot>
      )}
    </table>
  );
}

const VOID_PRESETS = ['misprint', 'abandoned', 'wrongFine'] as const;

/** Voiding asks first: what it does, and a reason (kept, and printed on the shift report). */
function VoidDialog(props: { billNo: string; onVoid(reason: string): Promise<void>; onCancel(): void }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div className="overlay" role="alertdialog" aria-modal="true" aria-labelledby="void-title">
      <div className="dialog" data-testid="void-dialog">
        <h2 id="void-title">{t('staff.today.voidTitle', { billNo: props.billNo })}</h2>
        <p>{t('staff.today.voidBody')}</p>
        <div className="chips" role="group" aria-label={t('staff.today.voidReason')}>
          {VOID_PRESETS.map((k) => (
            <button
              key={k}
              type="button"
              className="btn small"
              aria-pressed={reason === t(`staff.today.voidPresets.${k}`)}
              onClick={() => setReason(t(`staff.today.voidPresets.${k}`))}
            >
              {t(`staff.today.voidPresets.${k}`)}
            </button>
          ))}
        </div>
        <label htmlFor="void-reason">{t('staff.today.voidReason')}</label>
        <input
          id="void-reason"
          value={reason}
          maxLength={200}
          autoComplete="off"
          onChange={(e) => setReason(e.target.value)}
        />
        <div className="actions">
          <button type="button" className="btn" onClick={props.onCancel}>
            {t('staff.today.cancel')}
          </button>
          <button
            type="button"
            className="btn danger"
            disabled={busy || reason.trim().length === 0}
            onClick={async () => {
              setBusy(true);
              await props.onVoid(reason.trim());
              setBusy(false);
            }}
          >
            {t('staff.today.voidConfirm')}
          </button>
        </div>
      </div>
    </div>
  );
}

export function StaffConsole(props: { session: StaffSession; scanGapMs?: number; onLogout(): void }) {
  const scanGapMs = props.scanGapMs ?? 30;
  const { t } = useTranslation();
  const s = props.session.session;
  const [tab, setTab] = useState<Tab>('today');
  const [msg, setMsg] = useState<Msg>();
  const [today, setToday] = useState<Value<'staffToday'>>();
  const [report, setReport] = useState<ShiftReport>();
  const [printer, setPrinter] = useState<Value<'staffPrinter'>>();
  const [sync, setSync] = useState<Value<'staffSync'>>();
  const [device, setDevice] = useState<Value<'staffDevice'>>();
  const [voiding, setVoiding] = useState<string>();
  // A print on a printer without status: staff say whether the paper came out (reprint one tap away).
  const [paper, setPaper] = useState<{ jobId: string; reprint?: () => Promise<Result<PrintedAnswer>> }>();
  const asked = useCallback(
    (
      r: Result<PrintedAnswer> | PrintedAnswer | undefined,
      reprint?: () => Promise<Result<PrintedAnswer>>,
    ) => {
      const jobId = unverifiedJob(r);
      setPaper(jobId ? { jobId, ...(reprint ? { reprint } : {}) } : undefined);
    },
    [],
  );

  const fail = useCallback(
    (error: Failure) => {
      if (error.code === 'UNAUTHORIZED') return props.onLogout();
      setMsg({ kind: 'error', error });
    },
    [props],
  );

  const load = useCallback(
    async (which: Tab) => {
      if (which === 'today') {
        const r = await api.staffToday({ session: s });
        if (r.ok) setToday(r.value);
        else fail(r.error);
      } else if (which === 'printer') {
        const r = await api.staffPrinter({ session: s });
        if (r.ok) setPrinter(r.value);
        else fail(r.error);
      } else if (which === 'sync') {
        const r = await api.staffSync({ session: s });
        if (r.ok) setSync(r.value);
        else fail(r.error);
      } else if (which === 'device') {
        const r = await api.staffDevice({ session: s });
        if (r.ok) setDevice(r.value);
        else fail(r.error);
      }
    },
    [s, fail],
  );

  useEffect(() => {
    void load(tab);
  }, [tab, load]);

  let body: React.ReactNode = null;
  if (tab === 'issue') {
    body = (
      <TextForm
        id="issue-decision"
        label={t('staff.issue.label')}
        submit={t('staff.issue.submit')}
        onSubmit={async (decisionNo) => {
          const r = await api.staffIssue({ session: s, decisionNo });
          if (!r.ok) return fail(r.error);
          if (r.value.printError) return setMsg({ kind: 'error', error: r.value.printError });
          setMsg({ kind: 'ok', text: t('staff.issue.done', { billNo: r.value.bill.billNo }) });
          const billNo = r.value.bill.billNo;
          asked(r.value.printed, () => api.staffReprint({ session: s, billNo }));
        }}
      />
    );
  } else if (tab === 'today') {
    body = (
      <>
        <h2>{t('staff.today.bills')}</h2>
        {today && today.bills.length > 0 ? (
          <table className="table cards" data-testid="today-bills">
            <thead>
              <tr>
                <th scope="col">{t('bill.billNo')}</th>
                <th scope="col">{t('fine.decisionNo')}</th>
                <th scope="col">{t('bill.amount')}</th>
                <th scope="col">{t('fine.time')}</th>
                <th scope="col">{t('staff.today.state')}</th>
                <th scope="col">{t('staff.today.receipt')}</th>
                <th scope="col">
                  <span className="sr-only">{t('staff.today.reprint')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {today.bills.map((b) => (
                <tr key={b.billNo} data-bill={b.billNo} data-status={b.status}>
                  <td data-label={t('bill.billNo')}>{b.billNo}</td>
                  <td data-label={t('fine.decisionNo')}>{b.decisionNo}</td>
                  <td data-label={t('bill.amount')}>{money(b.amountFen)}</td>
                  <td data-label={t('fine.time')}>{when(b.issuedAt)}</td>
                  <td data-label={t('staff.today.state')}>{t(`staff.today.status.${b.status}`)}</td>
                  <td data-label={t('staff.today.receipt')} data-receipt={b.receipt}>
                    {b.receipt ? t(`staff.today.receiptState.${b.receipt}`) : '—'}
                  </td>
                  <td>
                    {b.status === 'paid' && (
                      <button
                        type="button"
                        className="btn small"
                        data-testid="reprint-receipt"
                        onClick={async () => {
                          const r = await api.staffReprintReceipt({ session: s, billNo: b.billNo });
                          if (!r.ok) return fail(r.error);
                          asked(r, () => api.staffReprintReceipt({ session: s, billNo: b.billNo }));
                          setMsg({
                            kind: 'ok',
                            text: t('staff.today.receiptReprinted', { billNo: b.billNo }),
                          });
                          await load('today');
                        }}
                      >
                        {t('staff.today.reprintReceipt')}
                      </button>
                    )}
                    {b.status === 'live' && (
                      <div className="row-actions">
                        <button
                          type="button"
                          className="btn small"
                          onClick={async () => {
                            const r = await api.staffReprint({ session: s, billNo: b.billNo });
                            if (!r.ok) return fail(r.error);
                            asked(r, () => api.staffReprint({ session: s, billNo: b.billNo }));
                            setMsg({ kind: 'ok', text: t('staff.today.reprinted', { billNo: b.billNo }) });
                          }}
                        >
                          {t('staff.today.reprint')}
                        </button>
                        <button
                          type="button"
                          className="btn small danger"
                          onClick={() => setVoiding(b.billNo)}
                        >
                          {t('staff.today.void')}
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p data-testid="today-none">{t('staff.today.none')}</p>
        )}
        <h2>{t('staff.today.payments')}</h2>
        {today && today.payments.length > 0 ? (
          <table className="table cards" data-testid="today-payments">
            <thead>
              <tr>
                <th scope="col">{t('bill.billNo')}</th>
                <th scope="col">{t('staff.shift.channel')}</th>
                <th scope="col">{t('bill.amount')}</th>
                <th scope="col">{t('paid.paidAt')}</th>
              </tr>
            </thead>
            <tbody>
              {today.payments.map((p) => (
                <tr key={`${p.billNo}-${p.paidAt}`}>
                  <td data-label={t('bill.billNo')}>{p.billNo}</td>
                  <td data-label={t('staff.shift.channel')}>
                    {t(`paid.channel.${p.channel}`, { defaultValue: p.channel })}
                  </td>
                  <td data-label={t('bill.amount')}>{money(p.amountFen)}</td>
                  <td data-label={t('paid.paidAt')}>{when(p.paidAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>{t('staff.today.none')}</p>
        )}
      </>
    );
  } else if (tab === 'confirm') {
    body = (
      <TextForm
        id="confirm-token"
        scans={{ gapMs: scanGapMs }}
        label={t('staff.confirm.label')}
        submit={t('staff.confirm.submit')}
        onSubmit={async (token) => {
          const r = await api.staffConfirm({ session: s, token });
          if (!r.ok) return fail(r.error);
          if (r.value.printError) return setMsg({ kind: 'error', error: r.value.printError });
          const key = r.value.bill.reprinted ? 'staff.confirm.copy' : 'staff.confirm.done';
          setMsg({ kind: 'ok', text: t(key, { billNo: r.value.bill.billNo }) });
          const billNo = r.value.bill.billNo;
          asked(r.value.printed, () => api.staffReprintReceipt({ session: s, billNo }));
        }}
      />
    );
  } else if (tab === 'shift') {
    body = (
      <>
        <button
          type="button"
          className="btn primary"
          onClick={async () => {
            const r = await api.staffShiftReport({ session: s });
            if (!r.ok) return fail(r.error);
            setReport(r.value.report);
            if (r.value.printError) setMsg({ kind: 'error', error: r.value.printError });
            else setMsg({ kind: 'ok', text: t('staff.shift.printed') });
          }}
        >
          {t('staff.shift.close')}
        </button>
        {report && <ShiftTable report={report} />}
      </>
    );
  } else if (tab === 'printer') {
    body = (
      <>
        <dl className="details">
          <dt>{t('staff.printer.state')}</dt>
          <dd data-testid="printer-state">{printer ? t(`status.printerState.${printer.state}`) : ''}</dd>
          <dt>{t('staff.printer.address')}</dt>
          <dd>{printer?.address}</dd>
        </dl>
        <button
          type="button"
          className="btn primary"
          onClick={async () => {
            const r = await api.staffTestPage({ session: s });
            if (!r.ok) return fail(r.error);
            asked(r, () => api.staffTestPage({ session: s }));
            setMsg({ kind: 'ok', text: t('staff.printer.tested') });
            await load('printer');
          }}
        >
          {t('staff.printer.test')}
        </button>
      </>
    );
  } else if (tab === 'sync') {
    body = (
      <>
        <dl className="details">
          <dt>{t('staff.sync.online')}</dt>
          <dd>{sync ? (sync.online ? t('status.online') : t('status.offline')) : ''}</dd>
          <dt>{t('staff.sync.queued')}</dt>
          <dd data-testid="sync-queued">{sync?.queued}</dd>
          <dt>{t('staff.sync.lastSuccess')}</dt>
          <dd>{sync?.lastSuccessAt ? when(sync.lastSuccessAt) : t('staff.sync.never')}</dd>
          <dt>{t('staff.sync.lastError')}</dt>
          <dd>
            {sync?.lastError ? (
              <FailureText error={{ code: sync.lastError as Failure['code'], message: '', messageZh: '' }} />
            ) : (
              '—'
            )}
          </dd>
          <dt>{t('staff.sync.offset')}</dt>
          <dd>{sync?.clockOffsetMs !== undefined ? `${(sync.clockOffsetMs / 1000).toFixed(1)} s` : '—'}</dd>
        </dl>
        <h2>{t('staff.sync.refused')}</h2>
        {sync?.refused && sync.refused.length > 0 ? (
          <table className="table" data-testid="sync-refused">
            <thead>
              <tr>
                <th scope="col">{t('staff.sync.refusedAt')}</th>
                <th scope="col">{t('staff.sync.refusedRef')}</th>
                <th scope="col">{t('staff.sync.refusedCode')}</th>
                <th scope="col">{t('staff.sync.refusedWhy')}</th>
              </tr>
            </thead>
            <tbody>
              {sync.refused.map((r) => (
                <tr key={`${r.kind}:${r.ref}:${r.at}`} data-kind={r.kind} data-code={r.code}>
                  <td>{when(r.at)}</td>
                  <td>
                    {t(`staff.sync.refusedKind.${r.kind}`)}: {r.ref}
                  </td>
                  <td>{r.code}</td>
                  <td>
                    <FailureText error={{ code: r.code as Failure['code'], message: '', messageZh: '' }} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>{t('staff.sync.refusedNone')}</p>
        )}
        <button type="button" className="btn primary" onClick={() => void load('sync')}>
          {t('staff.sync.now')}
        </button>
      </>
    );
  } else if (tab === 'device') {
    body = (
      <dl className="details">
        <dt>{t('staff.device.id')}</dt>
        <dd data-testid="device-id" lang="zxx">
          {device?.deviceId}
        </dd>
        <dt>{t('staff.device.enrolled')}</dt>
        <dd>{device ? (device.enrolled ? t('staff.device.yes') : t('staff.device.no')) : ''}</dd>
        <dt>{t('staff.device.hub')}</dt>
        <dd lang="zxx">{device?.hubBase ?? '—'}</dd>
      </dl>
    );
  }

  return (
    <main className="screen staff" data-testid="staff-console">
      <div className="staff-head">
        <h1>{t('staff.title')}</h1>
        <span>{t('staff.hello', { name: props.session.name })}</span>
        <button type="button" className="btn" onClick={props.onLogout}>
          {t('staff.logout')}
        </button>
      </div>
      <nav className="tabs" aria-label={t('staff.title')}>
        {TABS.map((k) => (
          <button
            key={k}
            type="button"
            className={tab === k ? 'tab active' : 'tab'}
            aria-current={tab === k ? 'page' : undefined}
            data-tab={k}
            onClick={() => {
              setMsg(undefined);
              setTab(k);
            }}
          >
            {t(`staff.tabs.${k}`)}
          </button>
        ))}
      </nav>
      <Message msg={msg} />
      {paper && (
        <PaperCheck
          jobId={paper.jobId}
          {...(paper.reprint ? { reprint: paper.reprint } : {})}
          onAnswered={() => void load(tab)}
        />
      )}
      <section className="tab-body">{body}</section>
      {voiding && (
        <VoidDialog
          billNo={voiding}
          onCancel={() => setVoiding(undefined)}
          onVoid={async (reason) => {
            const r = await api.staffVoid({ session: s, billNo: voiding, reason });
            setVoiding(undefined);
            if (!r.ok) return fail(r.error);
            setMsg({ kind: 'ok', text: t('staff.today.voided', { billNo: voiding }) });
            await load('today');
          }}
        />
      )}
    </main>
  );
}
