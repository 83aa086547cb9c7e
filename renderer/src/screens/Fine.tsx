// One fine in full, and the button that issues its bill.
import { useTranslation } from 'react-i18next';
import type { FineDto } from '../../../main/api.ts';
import { FineDetails } from '../components.tsx';
import type { Screen, ScreenOf } from '../screen.ts';

/** One fine in full, and the button that issues its bill. */
export function FineScreen({
  screen,
  setScreen,
  issue,
}: {
  screen: ScreenOf<'fine'>;
  setScreen(s: Screen): void;
  issue(fine: FineDto): Promise<void>;
}) {
  const { t } = useTranslation();
  return (
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
}
