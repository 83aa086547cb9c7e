import '@fontsource/noto-sans-sc/400.css';
import '@fontsource/noto-sans-sc/700.css';
import './styles.css';
import { createRoot } from 'react-dom/client';
import './i18n.ts';
import { App } from './App.tsx';

createRoot(document.getElementById('root')!).render(<App />);
