// While a bill is being issued and printed.
import { useTranslation } from 'react-i18next';

/** While a bill is being issued and printed. */
export function BusyScreen() {
  const { t } = useTranslation();
  return (
    <main className="screen" aria-busy="true">
      <h1>{t('bill.issuing')}</h1>
    </main>
  );
}
