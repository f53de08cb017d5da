import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createSwitchboard } from '../lib';
import type { SwitchboardClient } from '../lib';
import { SocketProvider } from '../lib/react';
import { App } from './App';
import { hadSession } from './sessionHint';
import './styles.css';

declare global {
  interface Window {
    /** The page's client, for debugging and end-to-end tests (e.g. forcing a transport drop). */
    __switchboard?: SwitchboardClient;
  }
}

// Same origin as the API and Socket.IO: `switchboard serve` serves this page at /.
const client = createSwitchboard({ baseUrl: '' });
window.__switchboard = client;

const container = document.getElementById('root');
if (!container) throw new Error('#root missing from index.html');

createRoot(container).render(
  <StrictMode>
    <SocketProvider client={client} restoreSession={hadSession()}>
      <App />
    </SocketProvider>
  </StrictMode>,
);
