// Entry of the kiosk screen. The CJK font is bundled so Chinese renders on a machine with no system font.
import '@fontsource/noto-sans-sc/400.css';
import '@fontsource/noto-sans-sc/700.css';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nextProvider } from 'react-i18next';
import { App } from './App.tsx';
import { setupI18n } from './i18n.ts';
import { officerOr } from '../officer/OfficerApp.tsx';

const i18n = setupI18n();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nextProvider i18n={i18n}>{officerOr(<App />)}</I18nextProvider>
  </StrictMode>,
);
