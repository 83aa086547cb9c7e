// Full-page notices instead of the flow: the service is away, or the page has no session.
import { useTranslation } from 'react-i18next';

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

export /** A bare address or an old launch URL: no session, and no way for the page to get one by itself. */
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
