// The operator console: log in, then one page per area. Every change goes to POST /console/api/op/<op> with
// the session's CSRF token; the hub checks the role again (an auditor's buttons are disabled here and
// refused there).
import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import i18n from './i18n.ts';

type Json = Record<string, unknown>;
interface Operator {
  id: string;
  name: string;
  role: 'admin' | 'operator' | 'auditor';
}
interface HubError {
  code: string;
  message: string;
  messageZh: string;
}

let csrf = '';

async function call<T = unknown>(op: string, args: object = {}): Promise<{ value?: T; error?: HubError }> {
  const res = await fetch(`/console/api/op/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(args),
  });
  return (await res.json()) as { value?: T; error?: HubError };
}

const fen = (n: number): string => `￥${(n / 100).toFixed(2)}`;
const time = (s: number | null | undefined): string =>
  s ? new Date(s * 1000).toLocaleString(i18n.language === 'zh' ? 'zh-CN' : 'en-GB') : '-';

function ErrorLine({ e }: { e: HubError | undefined }) {
  if (!e) return null;
  return (
    <p className="error" role="alert" data-code={e.code}>
      {i18n.language === 'zh' ? e.messageZh : e.message}
    </p>
  );
}

function Table({ head, rows, empty }: { head: string[]; rows: ReactNode[][]; empty?: string }) {
  if (rows.length === 0 && empty) return <p className="note">{empty}</p>;
  return (
    <table>
      <thead>
        <tr>
          {head.map((h) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {r.map((c, j) => (
              <td key={j}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Loads an op's value, and again on `reload()` or every `everyMs`. */
function useOp<T>(
  op: string,
  args: object = {},
  everyMs = 0,
): [T | undefined, () => void, HubError | undefined] {
  const [v, setV] = useState<T>();
  const [err, setErr] = useState<HubError>();
  const key = JSON.stringify(args);
  const load = useCallback(() => {
    void call<T>(op, JSON.parse(key) as object).then((r) => {
      setV(r.value);
      setErr(r.error);
    });
  }, [op, key]);
  useEffect(() => {
    load();
    if (!everyMs) return;
    const t = setInterval(load, everyMs);
    return () => clearInterval(t);
  }, [load, everyMs]);
  return [v, load, err];
}

function Devices({ ro }: { ro: boolean }) {
  const { t } = useTranslation();
  const [list, reload] = useOp<Json[]>('device.health', {}, 3000);
  const [code, setCode] = useState<{ code: string; expiresAt: number }>();
  const [err, setErr] = useState<HubError>();
  const [name, setName] = useState('');
  const [region, setRegion] = useState('110000');
  const act = async (op: string, args: object) => {
    const r = await call(op, args);
    setErr(r.error);
    reload();
    return r;
  };
  const make = async (e: FormEvent) => {
    e.preventDefault();
    const r = await act('device.add', { name, region });
    if (r.value) setCode(r.value as { code: string; expiresAt: number });
  };
  return (
    <>
      <section>
        <h2>{t('devices.newCode')}</h2>
        <form className="row" onSubmit={make}>
          <input
            aria-label={t('devices.name')}
            placeholder={t('devices.name')}
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
          />
          <input
            aria-label={t('devices.region')}
            placeholder={t('devices.region')}
            value={region}
            onChange={(e) => setRegion(e.target.value)}
          />
          <button className="primary" disabled={ro}>
            {t('devices.make')}
          </button>
        </form>
        {code && (
          <div className="qr">
            <p className="code" data-testid="enroll-code">
              {code.code}
            </p>
            <img alt={code.code} src={`/console/api/enroll-qr/${code.code}`} data-testid="enroll-qr" />
            <p className="note">
              {t('devices.scan')} {time(code.expiresAt)}
            </p>
          </div>
        )}
      </section>
      <section>
        <h2>{t('nav.devices')}</h2>
        <ErrorLine e={err} />
        <Table
          head={[
            t('devices.name'),
            t('devices.id'),
            t('devices.region'),
            t('devices.state'),
            t('devices.lastSeen'),
            t('devices.version'),
            t('devices.queue'),
            t('devices.printer'),
            t('devices.clock'),
            t('devices.enabled'),
            '',
            '',
          ]}
          rows={(list ?? []).map((d) => [
            String(d.name),
            String(d.id),
            String(d.region || '-'),
            <span
              key="s"
              className={`badge ${d.online ? 'online' : 'offline'}`}
              data-testid={`state-${String(d.id)}`}
            >
              {d.online ? t('devices.online') : t('devices.offline')}
            </span>,
            time(d.lastSeenAt as number | null),
            String(d.appVersion ?? '-'),
            String(d.queueDepth ?? '-'),
            String(d.printer ?? '-'),
            String(d.clockOffsetSeconds ?? '-'),
            d.enabled ? t('devices.yes') : t('devices.no'),
            <button
              key="b"
              disabled={ro}
              onClick={() => void act(d.enabled ? 'device.disable' : 'device.enable', { id: d.id })}
            >
              {d.enabled ? t('devices.disable') : t('devices.enable')}
            </button>,
            <button
              key="r"
              disabled={ro}
              onClick={() => {
                if (window.confirm(t('devices.removeConfirm'))) void act('device.remove', { id: d.id });
              }}
            >
              {t('devices.remove')}
            </button>,
          ])}
        />
      </section>
    </>
  );
}

function Payments() {
  const { t } = useTranslation();
  const [by, setBy] = useState('decisionNo');
  const [q, setQ] = useState('');
  const [rows, setRows] = useState<Json[]>();
  const [err, setErr] = useState<HubError>();
  const search = async (e: FormEvent) => {
    e.preventDefault();
    const r = await call<Json[]>('payment.search', { [by]: q.trim() });
    setRows(r.value);
    setErr(r.error);
  };
  return (
    <section>
      <h2>{t('nav.payments')}</h2>
      <form className="row" onSubmit={search}>
        <select aria-label="by" value={by} onChange={(e) => setBy(e.target.value)}>
          <option value="decisionNo">{t('payments.decisionNo')}</option>
          <option value="billNo">{t('payments.billNo')}</option>
          <option value="txnId">{t('payments.txnId')}</option>
        </select>
        <input aria-label={t('payments.search')} value={q} onChange={(e) => setQ(e.target.value)} required />
        <button className="primary">{t('payments.search')}</button>
      </form>
      <ErrorLine e={err} />
      {rows && (
        <Table
          empty={t('payments.none')}
          head={[
            t('payments.decisionNo'),
            t('payments.billNo'),
            t('payments.channel'),
            t('payments.txnId'),
            t('payments.amount'),
            t('payments.paidAt'),
            t('payments.status'),
          ]}
          rows={rows.map((p) => [
            String(p.decisionNo ?? '-'),
            String(p.billNo),
            String(p.channel),
            String(p.txnId),
            fen(Number(p.amountFen)),
            time(Number(p.paidAt)),
            String(p.status),
          ])}
        />
      )}
    </section>
  );
}

function Refunds({ ro }: { ro: boolean }) {
  const { t } = useTranslation();
  const [rows, reload] = useOp<Json[]>('refund.list');
  const [err, setErr] = useState<HubError>();
  return (
    <section>
      <h2>{t('nav.refunds')}</h2>
      <ErrorLine e={err} />
      <Table
        empty={t('refunds.none')}
        head={[
          t('payments.billNo'),
          t('payments.channel'),
          t('payments.txnId'),
          t('refunds.amount'),
          t('refunds.reason'),
          t('refunds.status'),
          t('refunds.by'),
          '',
        ]}
        rows={(rows ?? []).map((r) => [
          String(r.billNo),
          String(r.channel),
          String(r.txnId),
          fen(Number(r.amountFen)),
          // The catalogue's words for the reason (hub/pay/refunds.ts reasonText), in the page's language.
          String((r.reasonText as { zh?: string; en?: string } | undefined)?.[i18n.language === 'zh' ? 'zh' : 'en'] ?? r.reason),
          // A state this console does not know yet is shown as the hub names it.
          t(`refunds.states.${String(r.status)}`, { defaultValue: String(r.status) }),
          // Who approved it; an automatic refund (no approval asked) once it is under way.
          r.approvedBy
            ? String(r.approvedBy)
            : ['flagged', 'pending_approval'].includes(String(r.status))
              ? '-'
              : t('refunds.auto'),
          // The states an approval acts on (hub/pay/refunds.ts APPROVABLE): waiting, or failed and retried.
          !['flagged', 'pending_approval', 'failed'].includes(String(r.status)) ? (
            ''
          ) : (
            <button
              key="a"
              className="primary"
              disabled={ro}
              onClick={() =>
                void call('refund.approve', { channel: r.channel, txnId: r.txnId }).then((x) => {
                  setErr(x.error);
                  reload();
                })
              }
            >
              {t(r.status === 'failed' ? 'refunds.retry' : 'refunds.approve')}
            </button>
          ),
        ])}
      />
    </section>
  );
}

function Reports() {
  const { t } = useTranslation();
  const [rows, setRows] = useState<Json[]>();
  useEffect(() => {
    void fetch('/console/api/reports')
      .then((r) => r.json())
      .then((j: { value?: Json[] }) => setRows(j.value ?? []));
  }, []);
  return (
    <section>
      <h2>{t('nav.reports')}</h2>
      <Table
        empty={t('reports.none')}
        head={[t('reports.day'), t('reports.channel'), '']}
        rows={(rows ?? []).map((r) => [
          String(r.day),
          String(r.channel),
          <a key="d" href={`/console/api/reports/${String(r.id)}`}>
            {t('reports.download')}
          </a>,
        ])}
      />
    </section>
  );
}

function Fines({ ro }: { ro: boolean }) {
  const { t } = useTranslation();
  const [batches, reload] = useOp<Json[]>('batch.list', {}, 1000);
  const [file, setFile] = useState<File>();
  const [err, setErr] = useState<HubError>();
  const [busy, setBusy] = useState(false);
  const upload = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    const lower = file.name.toLowerCase();
    const type = lower.endsWith('.csv')
      ? 'text/csv'
      : lower.endsWith('.ndjson')
        ? 'application/x-ndjson'
        : 'application/json';
    const id = `console-${Date.now().toString(36)}`;
    const res = await fetch(`/console/api/fines/${id}`, {
      method: 'POST',
      headers: { 'content-type': type, 'x-csrf-token': csrf },
      body: file,
    });
    const j = (await res.json()) as { error?: HubError };
    setErr(j.error);
    setBusy(false);
    reload();
  };
  return (
    <section>
      <h2>{t('nav.fines')}</h2>
      <form className="row" onSubmit={upload}>
        <input
          type="file"
          aria-label={t('fines.file')}
          accept=".csv,.json,.ndjson"
          onChange={(e) => setFile(e.target.files?.[0])}
        />
        <button className="primary" disabled={ro || busy || !file}>
          {t('fines.upload')}
        </button>
      </form>
      <ErrorLine e={err} />
      <h2>{t('fines.batches')}</h2>
      <Table
        head={[
          '',
          t('fines.state'),
          t('fines.received'),
          t('fines.applied'),
          t('fines.unchanged'),
          t('fines.refused'),
        ]}
        rows={(batches ?? []).map((b) => [
          String(b.batchId),
          String(b.state),
          String(b.received),
          String(b.applied),
          String(b.unchanged),
          String(b.refused),
        ])}
      />
    </section>
  );
}

function Keys({ ro, admin }: { ro: boolean; admin: boolean }) {
  const { t } = useTranslation();
  const [hubKeys, reloadHub] = useOp<Json[]>('key.list');
  const [apiKeys, reloadApi] = useOp<Json[]>(admin ? 'apikey.list' : 'key.list');
  const [err, setErr] = useState<HubError>();
  const [shown, setShown] = useState<string>();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState('payments:read');
  return (
    <>
      <section>
        <h2>{t('keys.hub')}</h2>
        <ErrorLine e={err} />
        <Table
          head={['keyId', 'publicKey']}
          rows={(hubKeys ?? []).map((k) => [String(k.keyId), String(k.publicKey)])}
        />
        <p>
          <button
            disabled={ro}
            onClick={() => void call('key.rotate').then((r) => (setErr(r.error), reloadHub()))}
          >
            {t('keys.rotate')}
          </button>
        </p>
      </section>
      {admin && (
        <section>
          <h2>{t('keys.api')}</h2>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              void call<{ key: string }>('apikey.create', {
                name,
                scopes: scopes.split(',').map((s) => s.trim()),
              }).then((r) => {
                setErr(r.error);
                setShown(r.value?.key);
                reloadApi();
              });
            }}
          >
            <input
              aria-label={t('keys.name')}
              placeholder={t('keys.name')}
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
            />
            <input aria-label={t('keys.scopes')} value={scopes} onChange={(e) => setScopes(e.target.value)} />
            <button className="primary">{t('keys.create')}</button>
          </form>
          {shown && (
            <p className="note">
              {t('keys.shown')} <code>{shown}</code>
            </p>
          )}
          <Table
            head={['id', t('keys.name'), t('keys.scopes'), '']}
            rows={(apiKeys ?? []).map((k) => [
              String(k.id),
              String(k.name),
              (k.scopes as string[]).join(' '),
              k.revokedAt ? (
                t('keys.revoked')
              ) : (
                <button key="r" onClick={() => void call('apikey.revoke', { id: k.id }).then(reloadApi)}>
                  {t('keys.revoke')}
                </button>
              ),
            ])}
          />
        </section>
      )}
    </>
  );
}

function Config({ ro }: { ro: boolean }) {
  const { t } = useTranslation();
  const [cfg, reload] = useOp<Json>('config.get');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [err, setErr] = useState<HubError>();
  return (
    <section>
      <h2>{t('nav.config')}</h2>
      <Table
        head={[t('config.key'), t('config.value')]}
        rows={Object.entries(cfg ?? {}).map(([k, v]) => [k, <code key="v">{JSON.stringify(v)}</code>])}
      />
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          let v: unknown;
          try {
            v = JSON.parse(value);
          } catch {
            v = value;
          }
          void call('config.set', { key, value: v }).then((r) => (setErr(r.error), reload()));
        }}
      >
        <input
          aria-label={t('config.key')}
          placeholder={t('config.key')}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
        />
        <input
          aria-label={t('config.value')}
          placeholder={t('config.value')}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          required
        />
        <button className="primary" disabled={ro}>
          {t('config.set')}
        </button>
      </form>
      <ErrorLine e={err} />
    </section>
  );
}

function Security() {
  const { t } = useTranslation();
  const [rows] = useOp<Json[]>('security.log');
  const [chains, setChains] = useState<{ devices: number; events: number; broken: string[] }>();
  const [err, setErr] = useState<HubError>();
  return (
    <>
      <section>
        <h2>{t('security.refused')}</h2>
        <Table
          empty={t('security.none')}
          head={[t('audit.at'), t('security.device'), 'seq', t('security.type'), t('security.reason')]}
          rows={(rows ?? []).map((e) => [
            time(Number(e.receivedAt)),
            String(e.deviceId),
            String(e.seq),
            String(e.type),
            String(e.reason ?? ''),
          ])}
        />
      </section>
      <section>
        <button
          onClick={() =>
            void call<typeof chains>('chains.verify').then((r) => (setChains(r.value), setErr(r.error)))
          }
        >
          {t('security.verify')}
        </button>
        <ErrorLine e={err} />
        {chains && (
          <p className="note">
            {t('security.chains', {
              d: chains.devices,
              e: chains.events,
              b: chains.broken.join(', ') || t('security.none'),
            })}
          </p>
        )}
      </section>
    </>
  );
}

function Audit() {
  const { t } = useTranslation();
  const [rows] = useOp<Json[]>('audit.read', { limit: 200 }, 3000);
  return (
    <section>
      <h2>{t('nav.audit')}</h2>
      <Table
        head={[t('audit.at'), t('audit.actor'), t('audit.action'), t('audit.target'), t('audit.ok')]}
        rows={(rows ?? []).map((a) => [
          time(Number(a.at)),
          String(a.actor),
          String(a.action),
          String(a.target ?? ''),
          a.ok ? t('audit.success') : t('audit.refused'),
        ])}
      />
    </section>
  );
}

const PAGES = [
  'devices',
  'payments',
  'refunds',
  'reports',
  'fines',
  'keys',
  'config',
  'security',
  'audit',
] as const;

export function App() {
  const { t } = useTranslation();
  const [me, setMe] = useState<Operator | null>();
  const [page, setPage] = useState<(typeof PAGES)[number]>('devices');
  const [err, setErr] = useState<HubError>();
  const [id, setId] = useState('');
  const [pw, setPw] = useState('');
  useEffect(() => {
    void fetch('/console/api/session')
      .then((r) => r.json())
      .then((j: { operator?: Operator; csrf?: string }) => {
        csrf = j.csrf ?? '';
        setMe(j.operator ?? null);
      });
  }, []);
  const toggleLang = () => {
    const next = i18n.language === 'zh' ? 'en' : 'zh';
    localStorage.setItem('fk.console.lang', next);
    document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
    void i18n.changeLanguage(next);
  };
  const langButton = <button onClick={toggleLang}>{t('lang')}</button>;
  if (me === undefined) return null;
  if (me === null)
    return (
      <>
        <header>
          <h1>{t('title')}</h1>
          {langButton}
        </header>
        <section className="login">
          <h2>{t('login.title')}</h2>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void fetch('/console/api/login', {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ id, password: pw }),
              })
                .then((r) => r.json())
                .then((j: { operator?: Operator; csrf?: string; error?: HubError }) => {
                  setErr(j.error);
                  if (j.operator) {
                    csrf = j.csrf ?? '';
                    setMe(j.operator);
                  }
                });
            }}
          >
            <label htmlFor="user">{t('login.user')}</label>
            <input
              id="user"
              value={id}
              onChange={(e) => setId(e.target.value)}
              autoComplete="username"
              required
            />
            <label htmlFor="pw">{t('login.password')}</label>
            <input
              id="pw"
              type="password"
              value={pw}
              onChange={(e) => setPw(e.target.value)}
              autoComplete="current-password"
              required
            />
            <ErrorLine e={err} />
            <p>
              <button className="primary">{t('login.submit')}</button>
            </p>
          </form>
        </section>
      </>
    );
  const ro = me.role === 'auditor';
  return (
    <>
      <header>
        <h1>{t('title')}</h1>
        <span data-testid="who">
          {me.name} · {t(`role.${me.role}`)}
        </span>
        {langButton}
        <button
          onClick={() =>
            void fetch('/console/api/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } }).then(
              () => setMe(null),
            )
          }
        >
          {t('login.out')}
        </button>
      </header>
      <nav>
        {PAGES.map((p) => (
          <button key={p} aria-current={p === page ? 'page' : undefined} onClick={() => setPage(p)}>
            {t(`nav.${p}`)}
          </button>
        ))}
      </nav>
      <main>
        {ro && <p className="note">{t('readOnly')}</p>}
        {page === 'devices' && <Devices ro={ro} />}
        {page === 'payments' && <Payments />}
        {page === 'refunds' && <Refunds ro={ro} />}
        {page === 'reports' && <Reports />}
        {page === 'fines' && <Fines ro={ro} />}
        {page === 'keys' && <Keys ro={ro} admin={me.role === 'admin'} />}
        {page === 'config' && <Config ro={ro} />}
        {page === 'security' && <Security />}
        {page === 'audit' && <Audit />}
      </main>
    </>
  );
}
