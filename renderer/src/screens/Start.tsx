// The first screen: language, search by number or plate, the staff button.
import { useTranslation } from 'react-i18next';
import { LanguageSwitch } from '../chrome.tsx';
import { isZh } from '../components.tsx';
import type { Screen } from '../screen.ts';

/** The first screen: language, search by number or plate, the staff button. */
export function StartScreen({ setScreen }: { setScreen(s: Screen): void }) {
  const { t, i18n } = useTranslation();
  return (
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
}
