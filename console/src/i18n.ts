// Every string of the operator console in both languages; 中文 is the default. Refusals show the hub's own
// message in the chosen language (the hub sends both).
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, zh } from './strings.ts';

export { en, zh };

void i18n.use(initReactI18next).init({
  resources: { zh: { translation: zh }, en: { translation: en } },
  lng: localStorage.getItem('fk.console.lang') ?? 'zh',
  fallbackLng: 'zh',
  interpolation: { escapeValue: false },
});

export default i18n;
