// Full-page notices instead of the flow: the service is away, or the page has no session.
import { useTranslation } from 'react-i18next';
import { en, zh } from '../i18n.ts';

export /** Full screen while the kiosk service does not answer; the page carries on by itself when it does. */
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

/**
 * A bare address or an old launch URL: no session, and no way for the page to get one by itself. Nobody
 * chose a language here: the page says it in both.
 */
export function NoSession() {
  return (
    <div className="app fullpage" data-screen="no-session" data-testid="no-session">
      <main className="screen" role="alert">
        <h1 lang="zh-CN">{zh.noSession.title}</h1>
        <p className="subtitle" lang="zh-CN">
          {zh.noSession.body}
        </p>
        <h2 lang="en">{en.noSession.title}</h2>
        <p className="subtitle" lang="en">
          {en.noSession.body}
        </p>
      </main>
    </div>
  );
}
