// The officer screen (tablet): PIN login with the officer role, then a ticket form — vehicle kind, plate,
// violation code by code or search, amount within the code's range, place (typed or recent) — and the
// result: print the notice on the portable printer, or show the payment QR full screen.
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CodeDto, OfficerStateDto, TicketDto } from '../../main/officer/api.ts';
import { formatFen, parseYuan } from '../../protocol/money.ts';
import { failure, type Failure } from '../../protocol/result.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';
import { failureText } from '../src/components.tsx';
import { officerApi } from './api.ts';
import { officerText, type OfficerText } from './text.ts';
import './officer.css';

type Session = { session: string; officerId: string; name: string };
type View =
  | { name: 'form' }
  | { name: 'result'; ticket: TicketDto; printed: boolean }
  | { name: 'qr'; ticket: TicketDto };

const KINDS = ['small-car', 'large-car', 'motorcycle', 'non-motor', 'pedestrian'] as const;
const PLATELESS = new Set(['non-motor', 'pedestrian']);

function useText(): [OfficerText, boolean, () => void] {
  const { i18n } = useTranslation();
  const zh = i18n.language.startsWith('zh');
  return [zh ? officerText.zh : officerText.en, zh, () => void i18n.changeLanguage(zh ? 'en' : 'zh-CN')];
}

/** A refusal in the screen's language from the error catalogue (never the backend's detail text). */
function Problem({ error }: { error: Failure | undefined }) {
  const { t, i18n } = useTranslation();
  if (!error) return null;
  return (
    <p className="off-error" role="alert" data-testid="officer-error" data-code={error.code}>
      {failureText(error, i18n.language, t)}
    </p>
  );
}

function Login({ onLogin }: { onLogin(s: Session): void }) {
  const [t, , toggle] = useText();
  const [pin, setPin] = useState('');
  const [error, setError] = useState<Failure>();
  const submit = async () => {
    const r = await officerApi.officerLogin({ pin });
    setPin('');
    if (!r.ok) return setError(r.error);
    onLogin({ session: r.value.session, officerId: r.value.officerId, name: r.value.name });
  };
  return (
    <main className="off-screen off-login">
      <button type="button" className="off-btn off-lang" onClick={toggle}>
        {t.lang}
      </button>
      <h1>{t.login}</h1>
      <label htmlFor="officer-pin">{t.pin}</label>
      <input
        id="officer-pin"
        data-testid="officer-pin"
        type="password"
        inputMode="numeric"
        autoComplete="off"
        value={pin}
        maxLength={12}
        onChange={(e) => setPin(e.target.value.replace(/\D/g, ''))}
        onKeyDown={(e) => e.key === 'Enter' && void submit()}
      />
      <button
        type="button"
        className="off-btn off-primary"
        data-testid="officer-login"
        onClick={() => void submit()}
      >
        {t.enter}
      </button>
      <Problem error={error} />
    </main>
  );
}

function NumbersBar({
  state,
  onRefill,
}: {
  state: OfficerStateDto;
  onRefill(): Promise<Failure | undefined>;
}) {
  const [error, setError] = useState<Failure>();
  const [t] = useText();
  const n = state.numbers;
  const warn = n.exhausted || n.low;
  return (
    <div className="off-bar">
      <span
        className={warn ? 'off-pill warn' : 'off-pill'}
        data-testid="officer-numbers"
        data-low={String(n.low)}
      >
        {n.standalone && n.remaining === 0 ? t.standalone : t.numbersLeft.replace('{n}', String(n.remaining))}
        {n.exhausted ? ` — ${t.numbersOut}` : n.low ? ` — ${t.numbersLow}` : ''}
      </span>
      {warn && (
        <button
          type="button"
          className="off-btn"
          data-testid="officer-refill"
          onClick={() => void onRefill().then(setError)}
        >
          {t.refill}
        </button>
      )}
      <Problem error={error} />
      {state.codes.sample && (
        <span className="off-pill warn" data-testid="officer-sample">
          {t.sample}
        </span>
      )}
    </div>
  );
}

function TicketForm(props: { s: Session; state: OfficerStateDto; onIssued(t: TicketDto): void }) {
  const [t] = useText();
  const [kind, setKind] = useState<(typeof KINDS)[number]>('small-car');
  const [plate, setPlate] = useState('');
  const [vin6, setVin6] = useState('');
  const [partyName, setPartyName] = useState('');
  const [licenceNo, setLicenceNo] = useState('');
  const [query, setQuery] = useState('');
  const [codes, setCodes] = useState<CodeDto[]>([]);
  const [code, setCode] = useState<CodeDto>();
  const [yuan, setYuan] = useState('');
  const [place, setPlace] = useState('');
  const [error, setError] = useState<Failure>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    void officerApi.officerCodes({ session: props.s.session, query }).then((r) => {
      if (live && r.ok) setCodes(r.value.filter((c) => !c.vehicleKinds || c.vehicleKinds.includes(kind)));
    });
    return () => {
      live = false;
    };
  }, [query, kind, props.s.session]);

  const pick = (c: CodeDto) => {
    setCode(c);
    setQuery(c.code);
    setYuan(
      'fixedFen' in c.fine ? '' : c.fine.defaultFen !== undefined ? String(c.fine.defaultFen / 100) : '',
    );
  };

  const submit = async () => {
    setError(undefined);
    const codeText = code?.code ?? query.trim();
    let fineFen: number | undefined;
    if (yuan.trim()) {
      fineFen = parseYuan(yuan);
      if (fineFen === undefined) return setError(failure('MALFORMED'));
    }
    // A motor vehicle's ticket needs the vehicle id's last 6 and the driver: said before any call.
    if (!PLATELESS.has(kind) && (!vin6.trim() || !partyName.trim() || !licenceNo.trim())) {
      return setError(failure('TICKET_INCOMPLETE'));
    }
    setBusy(true);
    const r = await officerApi.officerIssue({
      session: props.s.session,
      vehicleKind: kind,
      code: codeText,
      place,
      ...(plate.trim() ? { plate } : {}),
      ...(fineFen !== undefined ? { fineFen } : {}),
      ...(vin6.trim() && kind !== 'pedestrian' ? { vin6 } : {}),
      ...(partyName.trim() ? { partyName } : {}),
      ...(licenceNo.trim() && kind !== 'pedestrian' ? { licenceNo } : {}),
    });
    setBusy(false);
    if (!r.ok) return setError(r.error);
    props.onIssued(r.value);
  };

  return (
    <form className="off-form" noValidate onSubmit={(e) => (e.preventDefault(), void submit())}>
      <fieldset className="off-kinds">
        <legend>{t.kind}</legend>
        {KINDS.map((k) => (
          <label key={k} className={kind === k ? 'off-kind active' : 'off-kind'}>
            <input
              type="radio"
              name="kind"
              value={k}
              checked={kind === k}
              data-testid={`officer-kind-${k}`}
              onChange={() => {
                setKind(k);
                setCode(undefined);
              }}
            />
            {t.kinds[k]}
          </label>
        ))}
      </fieldset>
      {kind !== 'pedestrian' && (
        <div className="off-field">
          <label htmlFor="officer-plate">{t.plate}</label>
          <input
            id="officer-plate"
            data-testid="officer-plate"
            value={plate}
            placeholder={t.platePh}
            autoComplete="off"
            maxLength={16}
            onChange={(e) => setPlate(e.target.value.toUpperCase())}
            required={!PLATELESS.has(kind)}
          />
        </div>
      )}
      {!PLATELESS.has(kind) && (
        <div className="off-field">
          <label htmlFor="officer-vin6">{t.vin6}</label>
          <input
            id="officer-vin6"
            data-testid="officer-vin6"
            value={vin6}
            autoComplete="off"
            maxLength={12}
            onChange={(e) => setVin6(e.target.value.toUpperCase())}
            aria-required="true"
          />
        </div>
      )}
      <div className="off-row">
        <div className="off-field">
          <label htmlFor="officer-party">
            {t.party}
            {PLATELESS.has(kind) ? ` ${t.optional}` : ''}
          </label>
          <input
            id="officer-party"
            data-testid="officer-party"
            value={partyName}
            autoComplete="off"
            maxLength={40}
            onChange={(e) => setPartyName(e.target.value)}
            aria-required={!PLATELESS.has(kind)}
          />
        </div>
        {kind !== 'pedestrian' && (
          <div className="off-field">
            <label htmlFor="officer-licence">
              {t.licence}
              {PLATELESS.has(kind) ? ` ${t.optional}` : ''}
            </label>
            <input
              id="officer-licence"
              data-testid="officer-licence"
              value={licenceNo}
              autoComplete="off"
              maxLength={20}
              onChange={(e) => setLicenceNo(e.target.value.toUpperCase())}
              aria-required={!PLATELESS.has(kind)}
            />
          </div>
        )}
      </div>
      <div className="off-field">
        <label htmlFor="officer-code">{t.code}</label>
        <input
          id="officer-code"
          data-testid="officer-code"
          value={query}
          placeholder={t.codePh}
          autoComplete="off"
          onChange={(e) => {
            setQuery(e.target.value);
            setCode(undefined);
          }}
        />
        {!code && codes.length > 0 && (
          <ul className="off-codes" aria-label={t.code}>
            {codes.slice(0, 8).map((c) => (
              <li key={c.code}>
                <button
                  type="button"
                  className="off-code"
                  data-testid={`officer-code-${c.code}`}
                  onClick={() => pick(c)}
                >
                  <b>{c.code}</b> {t === officerText.zh ? c.description : c.descriptionEn}
                  <span className="off-code-fine">
                    {'fixedFen' in c.fine
                      ? formatFen(c.fine.fixedFen)
                      : `${formatFen(c.fine.minFen)}–${formatFen(c.fine.maxFen)}`}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
        {code && (
          <p className="off-picked" data-testid="officer-picked">
            {code.code} · {t === officerText.zh ? code.description : code.descriptionEn} · {t.points}{' '}
            {code.points}
          </p>
        )}
      </div>
      {code && !('fixedFen' in code.fine) && (
        <div className="off-field">
          <label htmlFor="officer-fine">
            {t.fine} ({t.range} {formatFen(code.fine.minFen)}–{formatFen(code.fine.maxFen)})
          </label>
          <input
            id="officer-fine"
            data-testid="officer-fine"
            inputMode="decimal"
            value={yuan}
            onChange={(e) => setYuan(e.target.value)}
          />
        </div>
      )}
      {code && 'fixedFen' in code.fine && (
        <p>
          {t.fixed}: {formatFen(code.fine.fixedFen)}
        </p>
      )}
      <div className="off-field">
        <label htmlFor="officer-place">{t.place}</label>
        <input
          id="officer-place"
          data-testid="officer-place"
          value={place}
          placeholder={t.placePh}
          maxLength={200}
          onChange={(e) => setPlace(e.target.value)}
        />
        {props.state.recentPlaces.length > 0 && (
          <div className="off-recent" role="group" aria-label={t.recent}>
            {props.state.recentPlaces.map((p) => (
              <button key={p} type="button" className="off-btn off-small" onClick={() => setPlace(p)}>
                {p}
              </button>
            ))}
          </div>
        )}
      </div>
      <Problem error={error} />
      <button type="submit" className="off-btn off-primary" data-testid="officer-issue" disabled={busy}>
        {t.issue}
      </button>
    </form>
  );
}

function Result(props: {
  s: Session;
  ticket: TicketDto;
  printed: boolean;
  onPrinted(): void;
  onQr(): void;
  onNew(): void;
}) {
  const [t, zh] = useText();
  const [error, setError] = useState<Failure>();
  const [busy, setBusy] = useState(false);
  const tk = props.ticket;
  const print = async () => {
    setBusy(true);
    setError(undefined);
    const r = await officerApi.officerPrintNotice({ session: props.s.session, decisionNo: tk.decisionNo });
    setBusy(false);
    if (!r.ok) return setError(r.error);
    props.onPrinted();
  };
  return (
    <section className="off-result" aria-labelledby="off-result-title">
      <h2 id="off-result-title">{t.issued}</h2>
      <dl className="off-dl">
        <dt>{t.decision}</dt>
        <dd data-testid="officer-decision">{tk.decisionNo}</dd>
        {tk.standalone && (
          <>
            <dt />
            <dd className="off-warn-text">{t.standalone}</dd>
          </>
        )}
        <dt>{t.plate}</dt>
        <dd>{tk.plateMasked}</dd>
        <dt>{t.violation}</dt>
        <dd>
          {tk.violationCode} {zh ? tk.violation : (tk.violationEn ?? tk.violation)}
        </dd>
        <dt>{t.place}</dt>
        <dd>{tk.place}</dd>
        <dt>{t.amount}</dt>
        <dd data-testid="officer-amount">{formatFen(tk.fineFen)}</dd>
        <dt>{t.points}</dt>
        <dd>{tk.points}</dd>
      </dl>
      <Problem error={error} />
      <div className="off-actions">
        <button
          type="button"
          className="off-btn off-primary"
          data-testid="officer-print"
          disabled={busy}
          onClick={() => void print()}
        >
          {props.printed ? `${t.printed} ✓` : t.printNotice}
        </button>
        <button type="button" className="off-btn" data-testid="officer-show-qr" onClick={props.onQr}>
          {t.showQr}
        </button>
        <button type="button" className="off-btn" data-testid="officer-new" onClick={props.onNew}>
          {t.newTicket}
        </button>
      </div>
      {props.printed && <p data-testid="officer-printed">{t.printed}</p>}
    </section>
  );
}

function QrScreen({ ticket, onDone }: { ticket: TicketDto; onDone(): void }) {
  const [t] = useText();
  return (
    <section className="off-qr" aria-labelledby="off-qr-title">
      <h2 id="off-qr-title">{t.scanToPay}</h2>
      <img src={ticket.bill.qrDataUrl} alt={t.scanToPay} data-testid="officer-qr" className="off-qr-img" />
      <p className="off-qr-amount">{formatFen(ticket.bill.amountFen)}</p>
      <p>
        {t.decision}: {ticket.decisionNo}
      </p>
      <p>
        {t.validUntil} {shanghaiDateTime(ticket.bill.expiresAt)}
      </p>
      <p>{t.payLater}</p>
      <button type="button" className="off-btn off-primary" data-testid="officer-qr-done" onClick={onDone}>
        {t.done}
      </button>
    </section>
  );
}

export function OfficerApp() {
  const [t, , toggle] = useText();
  const [s, setS] = useState<Session>();
  const [state, setState] = useState<OfficerStateDto>();
  const [view, setView] = useState<View>({ name: 'form' });

  const refresh = useCallback(async () => {
    if (!s) return;
    const r = await officerApi.officerState({ session: s.session });
    if (r.ok) setState(r.value);
    else if (r.error.code === 'UNAUTHORIZED') setS(undefined);
  }, [s]);
  useEffect(() => void refresh(), [refresh, view]);

  if (!s) return <Login onLogin={setS} />;
  return (
    <main className="off-screen" data-testid="officer-screen">
      <header className="off-head">
        <h1>{t.title}</h1>
        <span>
          {s.name} ({s.officerId})
        </span>
        <button type="button" className="off-btn" onClick={toggle}>
          {t.lang}
        </button>
        <button
          type="button"
          className="off-btn"
          onClick={() => {
            void officerApi.officerLogout({ session: s.session });
            setS(undefined);
          }}
        >
          {t.logout}
        </button>
      </header>
      {state && (
        <NumbersBar
          state={state}
          onRefill={async () => {
            const r = await officerApi.officerRefill({ session: s.session });
            await refresh();
            return r.ok ? undefined : r.error;
          }}
        />
      )}
      {view.name === 'form' && state && (
        <TicketForm
          s={s}
          state={state}
          // Every ticket can be printed (pedestrians and non-motor too) or shown as a QR.
          onIssued={(ticket) => setView({ name: 'result', ticket, printed: false })}
        />
      )}
      {view.name === 'result' && (
        <Result
          s={s}
          ticket={view.ticket}
          printed={view.printed}
          onPrinted={() => setView({ ...view, printed: true })}
          onQr={() => setView({ name: 'qr', ticket: view.ticket })}
          onNew={() => setView({ name: 'form' })}
        />
      )}
      {view.name === 'qr' && <QrScreen ticket={view.ticket} onDone={() => setView({ name: 'form' })} />}
    </main>
  );
}

/** The app's root: the officer screen at #officer, the kiosk screen otherwise. */
export function officerOr(kiosk: React.ReactNode): React.ReactNode {
  return typeof location !== 'undefined' && location.hash.startsWith('#officer') ? <OfficerApp /> : kiosk;
}
