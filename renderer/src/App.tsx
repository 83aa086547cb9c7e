// The kiosk screen: a small state machine of citizen screens, the staff console, the status bar that is
// always visible, the barcode-scanner listener and the idle timer.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BillDto, FineDto, ScanDto, StatusDto } from '../../main/api.ts';
import { normalizeDecisionNo, plausibleDecisionNo } from '../../protocol/decision.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import { printerNotReady } from '../../protocol/receipts.ts';
import { failure } from '../../protocol/result.ts';
import type { Failure, Result } from '../../protocol/result.ts';
import { api, onLink } from './api.ts';
import { FailureText, FineDetails, Keypad, isZh, money, when } from './components.tsx';
import { createIdleTimer, type IdleState } from './idle.ts';
import { PaperCheck, unverifiedJob } from './paper.tsx';
import { StaffConsole, StaffLogin, type StaffSession } from './staff.tsx';
import { createWedgeDetector, scanKeyListener } from './wedge.ts';

export type Screen =
  | { name: 'start' }
  | { name: 'keypad' }
  | { name: 'plate' }
  | { name: 'fine'; fine: FineDto; back: Screen }
  | { name: 'fines'; fines: FineDto[]; back: Screen }
  | { name: 'busy' }
  | { name: 'bill'; bill: BillDto; printed: boolean; paperJob?: string }
  | { name: 'paid'; bill: BillDto; others?: FineDto[] }
  | { name: 'error'; error: Failure; bill?: BillDto; back?: Screen }
  | { name: 'staffLogin' }
  | { name: 'staff'; session: StaffSession };

const PRINTER_CODES = new Set([
  'PRINTER_PAPER_END',
  'PRINTER_OFFLINE',
  'PRINTER_COVER_OPEN',
  'PRINTER_UNREACHABLE',
  'PRINTER_TIMEOUT',
  'PRINTER_CUTTER_ERROR',
  'PRINT_FAILED',
]);

const perfClock = { now: () => performance.now() };

function StatusBar({ status }: { status: StatusDto | undefined }) {
  const { t } = useTranslation();
  if (!status) return <header className="statusbar" aria-label="status" />;
  return (
    <header className="statusbar">
      <span className={status.online ? 'pill ok' : 'pill warn'} data-testid="status-online">
        {status.online ? t('status.online') : t('status.offline')}
      </span>
      <span
        className={status.printer === 'ok' ? 'pill ok' : 'pill warn'}
        data-testid="status-printer"
        data-state={status.printer}
      >
        {t('status.printer')}: {t(`status.printerState.${status.printer}`)}
      </span>
      <span className="pill" data-testid="status-queued">
        {t('status.queued', { n: status.queued })}
      </span>
    </header>
  );
}

function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <div className="lang" role="group" aria-label={t('lang.choose')}>
      {(['zh-CN', 'en'] as const).map((l) => (
        <button
          key={l}
          type="button"
          lang={l}
          className={i18n.language === l ? 'btn lang-btn active' : 'btn lang-btn'}
          aria-pressed={i18n.language === l}
          onClick={() => void i18n.changeLanguage(l)}
        >
          {l === 'zh-CN' ? t('lang.zh') : t('lang.en')}
        </button>
      ))}
    </div>
  );
}

function Countdown({ expiresAt, offsetMs }: { expiresAt: number; offsetMs: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  const left = Math.max(0, Math.floor(expiresAt - (now + offsetMs) / 1000));
  const h = Math.floor(left / 3600);
  const m = String(Math.floor((left % 3600) / 60)).padStart(2, '0');
  const s = String(left % 60).padStart(2, '0');
  return <span data-testid="time-left">{`${h}:${m}:${s}`}</span>;
}

/** First key of a plate: the 31 provinces, and 使 for embassy plates. */
const PROVINCES = [...'京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼', '使'];
const ALNUM = [...'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'];
/** Last key(s) of special plates: Hong Kong, Macau, coach, trailer, consulate, police, emergency. */
const SUFFIXES = ['港', '澳', '学', '挂', '领', '警', '应急'];
/** The longest plate: new-energy (8), or province + letter + 4 + 应急 (9). */
const PLATE_MAX = 9;

export interface PlateInput {
  plate: string;
  vin6: string;
}

function PlateScreen(props: {
  value: PlateInput;
  onChange(v: PlateInput): void;
  onFind(plate: string, vin6: string): void;
  onBack(): void;
}) {
  const { t } = useTranslation();
  const { plate, vin6 } = props.value;
  const [field, setField] = useState<'plate' | 'vin6'>(plate.length >= 7 ? 'vin6' : 'plate');
  const value = field === 'plate' ? plate : vin6;
  const set = (v: string) => props.onChange(field === 'plate' ? { plate: v, vin6 } : { plate, vin6: v });
  const max = field === 'plate' ? PLATE_MAX : 6;
  const first = field === 'plate' && plate === '';
  const keys = first ? PROVINCES : ALNUM;
  const press = (k: string) => value.length + k.length <= max && set(value + k);
  // 应急 is two characters but one key: deleting takes it away whole.
  const back = () => set(value.endsWith('应急') ? value.slice(0, -2) : value.slice(0, -1));
  return (
    <main className="screen">
      <h1>{t('plate.title')}</h1>
      <div className="fields">
        <button
          type="button"
          className={field === 'plate' ? 'field active' : 'field'}
          aria-pressed={field === 'plate'}
          onClick={() => setField('plate')}
          data-testid="plate-field"
        >
          <span className="field-label">{t('plate.plate')}</span>
          <span className="field-value">{plate || '\u00a0'}</span>
        </button>
        <button
          type="button"
          className={field === 'vin6' ? 'field active' : 'field'}
          aria-pressed={field === 'vin6'}
          onClick={() => setField('vin6')}
          data-testid="vin6-field"
        >
          <span className="field-label">{t('plate.vin6')}</span>
          <span className="field-value">{vin6 || '\u00a0'}</span>
        </button>
      </div>
      {first && <p className="hint">{t('plate.province')}</p>}
      <div
        className={first ? 'keyboard provinces' : 'keyboard'}
        role="group"
        aria-label={t(`plate.${field}`)}
      >
        {keys.map((k) => (
          <button
            key={k}
            type="button"
            className="key small"
            onClick={() => press(k)}
            lang={first ? 'zh-CN' : undefined}
          >
            {k}
          </button>
        ))}
        <button type="button" className="key small key-aux" onClick={back}>
          {t('keypad.backspace')}
        </button>
      </div>
      {field === 'plate' && !first && (
        <div className="keyboard suffixes" role="group" aria-label={t('plate.suffix')}>
          {SUFFIXES.map((k) => (
            <button key={k} type="button" className="key small" lang="zh-CN" onClick={() => press(k)}>
              {k}
            </button>
          ))}
        </div>
      )}
      <div className="actions">
        <button type="button" className="btn" onClick={props.onBack}>
          {t('error.back')}
        </button>
        {field === 'plate' ? (
          <button
            type="button"
            className="btn primary"
            disabled={plate.length < 7}
            onClick={() => setField('vin6')}
          >
            {t('plate.next')}
          </button>
        ) : (
          <button
            type="button"
            className="btn primary"
            disabled={plate.length < 7 || vin6.length !== 6}
            onClick={() => props.onFind(plate, vin6)}
          >
            {t('plate.search')}
          </button>
        )}
      </div>
    </main>
  );
}

/** Letters for a stand-alone number typed by hand (`{device id}S{8 digits}`). */
const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

function NumberScreen(props: {
  value: string;
  onChange(v: string): void;
  pattern: RegExp;
  onFind(no: string): void;
  onBack(): void;
}) {
  const { t } = useTranslation();
  const [letters, setLetters] = useState(false);
  const no = normalizeDecisionNo(props.value);
  const plausible = plausibleDecisionNo(no, props.pattern);
  return (
    <main className="screen">
      <h1>{t('keypad.title')}</h1>
      <p className="hint">{t('keypad.hint')}</p>
      <Keypad
        value={props.value}
        onChange={props.onChange}
        maxLength={32}
        label={t('keypad.title')}
        {...(letters ? { keys: LETTERS } : {})}
      />
      <div className="actions">
        <button type="button" className="btn" onClick={() => setLetters(!letters)} aria-pressed={letters}>
          {letters ? t('keypad.digits') : t('keypad.letters')}
        </button>
      </div>
      {props.value.length >= 15 && !plausible && (
        <p className="hint" role="status" data-testid="keypad-not-yet">
          {t('keypad.notYet')}
        </p>
      )}
      <div className="actions">
        <button type="button" className="btn" onClick={props.onBack}>
          {t('error.back')}
        </button>
        <button
          type="button"
          className="btn primary"
          disabled={!plausible}
          data-testid="keypad-search"
          onClick={() => props.onFind(no)}
        >
          {t('keypad.search')}
        </button>
      </div>
    </main>
  );
}

/** Full screen while the kiosk service does not answer; the page carries on by itself when it does. */
function Unavailable() {
  const { t } = useTranslation();
  return (
    <div className="app fullpage" data-screen="unavailable" data-testid="unavailable">
      <main className="screen" role="alert">
        <h1>{t('unavailable.title')}</h1>
        <p className="subtitle">{t('unavailable.body')}</p>
      </main>
    </div>
  );
}

/** A bare address or an old launch URL: no session, and no way for the page to get one by itself. */
function NoSession() {
  const { t } = useTranslation();
  return (
    <div className="app fullpage" data-screen="no-session" data-testid="no-session">
      <main className="screen" role="alert">
        <h1>{t('noSession.title')}</h1>
        <p className="subtitle">{t('noSession.body')}</p>
      </main>
    </div>
  );
}

const DEFAULT_PATTERN = /^[0-9]{15,20}$/;

function compile(source: string | undefined): RegExp {
  if (!source) return DEFAULT_PATTERN;
  try {
    return new RegExp(source);
  } catch {
    return DEFAULT_PATTERN;
  }
}

export function App() {
  const { t, i18n } = useTranslation();
  const [screen, setScreenState] = useState<Screen>({ name: 'start' });
  const [status, setStatus] = useState<StatusDto>();
  const [offsetMs, setOffsetMs] = useState(0);
  const [idle, setIdle] = useState<IdleState>({ state: 'active' });
  const [decision, setDecision] = useState('');
  const [plateInput, setPlateInput] = useState<PlateInput>({ plate: '', vin6: '' });
  const [link, setLink] = useState<'ok' | 'lost' | 'no-session'>(() =>
    window.location.hash === '#no-session' ? 'no-session' : 'ok',
  );
  const screenRef = useRef(screen);
  const setScreen = useCallback((s: Screen) => {
    screenRef.current = s;
    setScreenState(s);
  }, []);

  useEffect(() => {
    const off = onLink(setLink);
    return () => void off();
  }, []);

  // Status: polled for the bar, and it carries the idle and poll settings. While the service is away it
  // is asked every second, so the page carries on as soon as it is back.
  const statusEvery = link === 'ok' ? 2000 : 1000;
  useEffect(() => {
    let stop = false;
    const load = async () => {
      const r = await api.status({});
      if (!stop && r.ok) {
        setStatus(r.value);
        setOffsetMs(r.value.now * 1000 - Date.now());
      }
    };
    void load();
    const id = setInterval(() => void load(), statusEvery);
    return () => {
      stop = true;
      clearInterval(id);
    };
  }, [statusEvery]);

  useEffect(() => {
    document.documentElement.lang = i18n.language;
    document.title = t('appTitle');
  }, [i18n.language, t]);

  const reset = useCallback(() => {
    const s = screenRef.current;
    if (s.name === 'staff') void api.staffLogout({ session: s.session.session });
    setDecision('');
    setPlateInput({ plate: '', vin6: '' });
    setScreen({ name: 'start' });
    void i18n.changeLanguage('zh-CN');
  }, [i18n, setScreen]);

  const showError = useCallback(
    (error: Failure, extra: { bill?: BillDto; back?: Screen } = {}) =>
      setScreen({ name: 'error', error, ...extra }),
    [setScreen],
  );

  const onFine = useCallback(
    (r: Result<FineDto>, back: Screen = screenRef.current) => {
      if (!r.ok) return showError(r.error, { back });
      if (r.value.status !== 'unpaid') return showError(failure('FINE_NOT_PAYABLE'), { back });
      setScreen({ name: 'fine', fine: r.value, back });
    },
    [setScreen, showError],
  );

  // The backend prints the receipt when it learns of the payment; the screen only says how that went,
  // and offers the same vehicle's other unpaid fines.
  const paid = useCallback(
    async (bill: BillDto) => {
      setScreen({ name: 'paid', bill });
      const o = await api.otherUnpaid({ billNo: bill.billNo });
      const s = screenRef.current;
      if (o.ok && o.value.length > 0 && s.name === 'paid' && s.bill.billNo === bill.billNo) {
        setScreen({ ...s, others: o.value });
      }
    },
    [setScreen],
  );

  const printBill = useCallback(
    async (bill: BillDto) => {
      const p = await api.printBill({ billNo: bill.billNo });
      if (!p.ok) return showError(p.error, { bill });
      // A printer without status: the citizen says whether the paper came out.
      const job = unverifiedJob(p.value);
      setScreen({ name: 'bill', bill, printed: true, ...(job ? { paperJob: job } : {}) });
    },
    [setScreen, showError],
  );

  const issue = useCallback(
    async (fine: FineDto) => {
      setScreen({ name: 'busy' });
      const b = await api.issueBill({ decisionNo: fine.decisionNo });
      if (!b.ok) return showError(b.error);
      await printBill(b.value);
    },
    [printBill, setScreen, showError],
  );

  // A scan on any citizen screen: a notice or bill (its fine), or a payment confirmation (recorded, its
  // receipt printed; one scanned again prints a copy).
  const onScan = useCallback(
    async (code: string) => {
      const s = screenRef.current;
      if (s.name === 'staff' || s.name === 'staffLogin' || s.name === 'busy') return;
      const back: Screen = s.name === 'error' ? (s.back ?? { name: 'start' }) : s;
      const r: Result<ScanDto> = await api.scan(
        s.name === 'bill' ? { code, billNo: s.bill.billNo } : { code },
      );
      if (!r.ok) return showError(r.error, { back, ...(s.name === 'bill' ? { bill: s.bill } : {}) });
      if (r.value.kind === 'paid') return paid(r.value.bill);
      onFine({ ok: true, value: r.value.fine }, back);
    },
    [onFine, paid, showError],
  );

  // Scanner: a fast burst of keys ending in Enter anywhere outside a text field.
  useEffect(() => {
    const wedge = createWedgeDetector({
      clock: perfClock,
      maxGapMs: status?.config.scanGapMs ?? 30,
      onScan: (code) => void onScan(code),
    });
    const onKey = scanKeyListener(wedge);
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [onScan, status?.config.scanGapMs]);

  // Idle: any touch or key is activity; past the limit the session is forgotten.
  const idleSeconds = status?.config.idleSeconds ?? 60;
  const warnSeconds = status?.config.idleWarnSeconds ?? 15;
  useEffect(() => {
    const timer = createIdleTimer({
      clock: perfClock,
      timeoutMs: idleSeconds * 1000,
      warnMs: warnSeconds * 1000,
    });
    const act = () => timer.activity();
    window.addEventListener('pointerdown', act, true);
    window.addEventListener('keydown', act, true);
    const id = setInterval(() => {
      const s = screenRef.current;
      // Never while a bill waits for its payment (the citizen is paying on the phone), nor while its
      // receipt is printing; nothing to forget on the start screen in the default language.
      const hold =
        s.name === 'bill' ||
        (s.name === 'paid' && (s.bill.receipt?.state === 'due' || s.bill.receipt?.state === 'printing')) ||
        (s.name === 'start' && i18n.language === 'zh-CN');
      if (hold) {
        timer.activity();
        setIdle({ state: 'active' });
        return;
      }
      const st = timer.tick();
      if (st.state === 'idle') {
        timer.activity();
        setIdle({ state: 'active' });
        reset();
      } else setIdle(st);
    }, 250);
    return () => {
      clearInterval(id);
      window.removeEventListener('pointerdown', act, true);
      window.removeEventListener('keydown', act, true);
    };
  }, [idleSeconds, warnSeconds, reset, i18n]);

  // Waiting for payment: when online the hub tells the kiosk by itself; the screen asks now and then.
  useEffect(() => {
    if (screen.name !== 'bill') return;
    const bill = screen.bill;
    const tick = async (): Promise<void> => {
      const r = await api.billStatus({ billNo: bill.billNo });
      const s = screenRef.current;
      if (!r.ok || s.name !== 'bill' || s.bill.billNo !== bill.billNo) return;
      if (r.value.status === 'paid') {
        clearInterval(id);
        await paid(r.value);
      } else if (r.value.status === 'expired' || r.value.status === 'voided') {
        clearInterval(id);
        showError(failure(r.value.status === 'expired' ? 'BILL_EXPIRED' : 'BILL_VOIDED'), { bill: r.value });
      }
    };
    const id = setInterval(() => void tick(), status?.config.pollMs ?? 1000);
    return () => clearInterval(id);
  }, [screen, paid, showError, status?.config.pollMs]);

  // After a person answered for an unverified receipt: show what the backend now holds.
  const refreshReceipt = useCallback(async () => {
    const s = screenRef.current;
    if (s.name !== 'paid') return;
    const r = await api.billStatus({ billNo: s.bill.billNo });
    const now = screenRef.current;
    if (r.ok && now.name === 'paid' && now.bill.billNo === s.bill.billNo)
      setScreen({ ...now, bill: { ...r.value, reprinted: now.bill.reprinted } });
  }, [setScreen]);

  // The receipt is printed by the backend: while it is due or printing, or waits for the printer to be
  // ready again (paper loaded), ask how it went.
  useEffect(() => {
    if (screen.name !== 'paid') return;
    const st = screen.bill.receipt?.state;
    const waiting = st === 'failed' && printerNotReady(screen.bill.receipt?.errorCode);
    if (st !== 'due' && st !== 'printing' && !waiting) return;
    const billNo = screen.bill.billNo;
    const tick = async (): Promise<void> => {
      const r = await api.billStatus({ billNo });
      const s = screenRef.current;
      if (!r.ok || s.name !== 'paid' || s.bill.billNo !== billNo) return;
      if (r.value.receipt?.state !== st)
        setScreen({ ...s, bill: { ...r.value, reprinted: s.bill.reprinted } });
    };
    const id = setInterval(() => void tick(), status?.config.pollMs ?? 1000);
    return () => clearInterval(id);
  }, [screen, setScreen, status?.config.pollMs]);

  const pattern = compile(status?.decisionPattern);

  if (link === 'no-session') return <NoSession />;
  if (link === 'lost') return <Unavailable />;

  let body: React.ReactNode;
  switch (screen.name) {
    case 'start':
      body = (
        <main className="screen start">
          <h1>{t('appTitle')}</h1>
          <p className="subtitle" lang={isZh(i18n.language) ? 'en' : 'zh-CN'}>
            {t('appSubtitle')}
          </p>
          <LanguageSwitch />
          <h2>{t('start.title')}</h2>
          <div className="choices">
            <button type="button" className="btn big primary" onClick={() => setScreen({ name: 'keypad' })}>
              {t('start.byNumber')}
            </button>
            <button type="button" className="btn big primary" onClick={() => setScreen({ name: 'plate' })}>
              {t('start.byPlate')}
            </button>
          </div>
          <p className="hint scan-hint">{t('start.scanHint')}</p>
          <button type="button" className="btn staff-link" onClick={() => setScreen({ name: 'staffLogin' })}>
            {t('start.staff')}
          </button>
        </main>
      );
      break;
    case 'keypad':
      body = (
        <NumberScreen
          value={decision}
          onChange={setDecision}
          pattern={pattern}
          onBack={() => setScreen({ name: 'start' })}
          onFind={async (no) => onFine(await api.findByDecisionNo({ decisionNo: no }), { name: 'keypad' })}
        />
      );
      break;
    case 'plate':
      body = (
        <PlateScreen
          value={plateInput}
          onChange={setPlateInput}
          onBack={() => setScreen({ name: 'start' })}
          onFind={async (plate, vin6) => {
            const r = await api.findByPlate({ plate, vin6 });
            const back: Screen = { name: 'plate' };
            if (!r.ok) return showError(r.error, { back });
            const unpaid = r.value.filter((f) => f.status === 'unpaid');
            if (r.value.length === 1) onFine({ ok: true, value: r.value[0]! }, back);
            else setScreen({ name: 'fines', fines: unpaid.length ? unpaid : r.value, back });
          }}
        />
      );
      break;
    case 'fines':
      body = (
        <main className="screen">
          <h1>{t('fine.listTitle', { count: screen.fines.length })}</h1>
          <ul className="fine-list">
            {screen.fines.map((f) => (
              <li key={f.decisionNo}>
                <button
                  type="button"
                  className="btn fine-item"
                  onClick={() => onFine({ ok: true, value: f }, screen)}
                >
                  <span>{when(f.occurredAt)}</span>
                  <span>{!isZh(i18n.language) && f.violationEn ? f.violationEn : f.violation}</span>
                  <strong>{money(f.totalFen)}</strong>
                </button>
              </li>
            ))}
          </ul>
          <div className="actions">
            <button type="button" className="btn" onClick={() => setScreen(screen.back)}>
              {t('error.back')}
            </button>
          </div>
        </main>
      );
      break;
    case 'fine':
      body = (
        <main className="screen">
          <h1>{t('fine.title')}</h1>
          <FineDetails fine={screen.fine} />
          <div className="actions">
            <button type="button" className="btn" onClick={() => setScreen(screen.back)}>
              {t('error.back')}
            </button>
            <button type="button" className="btn primary" onClick={() => void issue(screen.fine)}>
              {t('fine.confirm')}
            </button>
          </div>
        </main>
      );
      break;
    case 'busy':
      body = (
        <main className="screen" aria-busy="true">
          <h1>{t('bill.issuing')}</h1>
        </main>
      );
      break;
    case 'bill':
      body = (
        <main className="screen bill" data-testid="bill-screen" data-bill={screen.bill.billNo}>
          <h1>{t('bill.title')}</h1>
          {screen.paperJob ? (
            <PaperCheck
              jobId={screen.paperJob}
              reprint={() => api.printBill({ billNo: screen.bill.billNo })}
            />
          ) : (
            screen.printed && (
              <p className="notice ok" role="status">
                {t('bill.printed')}
              </p>
            )
          )}
          <div className="bill-grid">
            <figure className="qr">
              <img src={screen.bill.qrDataUrl} alt={t('bill.scanWith')} data-testid="bill-qr" />
              <figcaption>{t('bill.scanWith')}</figcaption>
            </figure>
            <dl className="details">
              <dt>{t('bill.amount')}</dt>
              <dd className="total" data-testid="bill-amount">
                {money(screen.bill.amountFen)}
              </dd>
              <dt>{t('bill.billNo')}</dt>
              <dd>{screen.bill.billNo}</dd>
              <dt>{t('bill.timeLeft')}</dt>
              <dd>
                <Countdown expiresAt={screen.bill.expiresAt} offsetMs={offsetMs} />
              </dd>
            </dl>
          </div>
          <p className="hint" role="status">
            {t('bill.waiting')}
          </p>
          <p className="hint strong">{t('bill.offlineHint')}</p>
          <div className="actions">
            <button type="button" className="btn" onClick={reset}>
              {t('bill.leave')}
            </button>
          </div>
        </main>
      );
      break;
    case 'paid': {
      const rs = screen.bill.receipt?.state;
      const copyError = screen.bill.copyError;
      // Failed for want of a ready printer: the backend prints it by itself once the printer is back.
      const waitingForPrinter = rs === 'failed' && printerNotReady(screen.bill.receipt?.errorCode);
      const receiptText =
        rs === 'printed'
          ? screen.bill.reprinted
            ? t('paid.receiptCopy')
            : t('paid.receipt')
          : rs === 'due' || rs === 'printing'
            ? t('paid.receiptPrinting')
            : screen.bill.reprinted
              ? t('paid.receiptCopy')
              : waitingForPrinter
                ? t('paid.receiptWaiting')
                : t('paid.receiptFailed');
      const others = screen.others ?? [];
      body = (
        <main className="screen paid" data-testid="paid-screen" data-receipt={rs ?? 'none'}>
          <h1>{t('paid.title')}</h1>
          {copyError && (
            <p className="notice warn" role="alert" data-testid="copy-error" data-code={copyError}>
              <FailureText error={failure(copyError as ErrorCode)} />
            </p>
          )}
          {rs === 'unverified' && screen.bill.receipt?.jobId ? (
            <PaperCheck jobId={screen.bill.receipt.jobId} onAnswered={() => void refreshReceipt()} />
          ) : (
            (!copyError || rs !== 'printed') && (
              <p
                className={rs === 'failed' ? 'notice warn' : 'notice ok'}
                role="status"
                data-testid="receipt-state"
              >
                {waitingForPrinter && screen.bill.receipt?.errorCode && (
                  <>
                    <FailureText error={failure(screen.bill.receipt.errorCode as ErrorCode)} />
                    {'. '}
                  </>
                )}
                {receiptText}
              </p>
            )
          )}
          <dl className="details">
            <dt>{t('bill.billNo')}</dt>
            <dd>{screen.bill.billNo}</dd>
            <dt>{t('bill.amount')}</dt>
            <dd className="total">{money(screen.bill.amountFen)}</dd>
            {screen.bill.payment && (
              <>
                <dt>{t('fine.decisionNo')}</dt>
                <dd>{screen.bill.decisionNo}</dd>
                <dt>{t('paid.txn')}</dt>
                <dd>
                  {t(`paid.channel.${screen.bill.payment.channel}`)} {screen.bill.payment.txnId}
                </dd>
                <dt>{t('paid.paidAt')}</dt>
                <dd>{when(screen.bill.payment.paidAt)}</dd>
              </>
            )}
          </dl>
          {others.length > 0 && (
            <p className="notice" data-testid="other-fines">
              {t('paid.others', { count: others.length })}
            </p>
          )}
          <div className="actions">
            {others.length > 0 && (
              <button
                type="button"
                className="btn"
                onClick={() =>
                  others.length === 1
                    ? onFine({ ok: true, value: others[0]! }, { name: 'start' })
                    : setScreen({ name: 'fines', fines: others, back: { name: 'start' } })
                }
              >
                {t('paid.showOthers')}
              </button>
            )}
            <button type="button" className="btn primary" onClick={reset}>
              {t('paid.done')}
            </button>
          </div>
        </main>
      );
      break;
    }
    case 'error': {
      const code = screen.error.code;
      const next = t(`error.next.${code}`, { defaultValue: t('error.next.default') });
      const bill = screen.bill;
      body = (
        <main className="screen error" data-testid="error-screen" data-code={code}>
          <h1>{t('error.title')}</h1>
          <p className="notice warn" role="alert">
            <FailureText error={screen.error} />
          </p>
          <p className="next">{next}</p>
          <div className="actions">
            <button type="button" className="btn" onClick={reset}>
              {t('error.toStart')}
            </button>
            {screen.back && (
              <button type="button" className="btn" onClick={() => setScreen(screen.back!)}>
                {t('error.back')}
              </button>
            )}
            {bill && code === 'BILL_EXPIRED' && (
              <button
                type="button"
                className="btn primary"
                data-testid="new-bill"
                onClick={() => void issue(bill.fine)}
              >
                {t('bill.newBill')}
              </button>
            )}
            {bill && PRINTER_CODES.has(code) && (
              <>
                <button
                  type="button"
                  className="btn"
                  onClick={() => setScreen({ name: 'bill', bill, printed: false })}
                >
                  {t('error.showQr')}
                </button>
                <button type="button" className="btn primary" onClick={() => void printBill(bill)}>
                  {t('error.retry')}
                </button>
              </>
            )}
          </div>
        </main>
      );
      break;
    }
    case 'staffLogin':
      body = (
        <StaffLogin
          onBack={() => setScreen({ name: 'start' })}
          onLogin={(session) => setScreen({ name: 'staff', session })}
        />
      );
      break;
    case 'staff':
      body = (
        <StaffConsole session={screen.session} scanGapMs={status?.config.scanGapMs ?? 30} onLogout={reset} />
      );
      break;
  }

  return (
    <div className="app" data-screen={screen.name}>
      <StatusBar status={status} />
      {body}
      {idle.state === 'warning' && (
        <div
          className="overlay"
          role="alertdialog"
          aria-modal="true"
          aria-labelledby="idle-title"
          data-testid="idle-warning"
        >
          <div className="dialog">
            <h2 id="idle-title">{t('idle.title')}</h2>
            <p>{t('idle.body', { n: Math.ceil(idle.remainingMs / 1000) })}</p>
            <button type="button" className="btn primary" onClick={() => setIdle({ state: 'active' })}>
              {t('idle.stay')}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
