// What surrounds every screen: the status bar, the language switch, the bill's countdown.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { StatusDto } from '../../main/api.ts';

/** Online, printer and queue pills (from the polled status). */
export function StatusBar({ status }: { status: StatusDto | undefined }) {
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

/** 中文 / English. */
export function LanguageSwitch() {
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

/** Time left until `expiresAt` (Unix seconds, kiosk clock = page clock + offsetMs), h:mm:ss. */
export function Countdown({ expiresAt, offsetMs }: { expiresAt: number; offsetMs: number }) {
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
