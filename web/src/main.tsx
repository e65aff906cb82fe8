/** Entry: loads the schema (network, else the stored copy), renders the app, registers the service worker. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { loadSchema } from './schema.ts';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);

if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch(() => {
    // Without a service worker the app still works online; nothing to tell the user.
  });
}

loadSchema().then(
  (schema) =>
    root.render(
      <StrictMode>
        <App schema={schema} />
      </StrictMode>,
    ),
  (err: Error) =>
    root.render(
      <main className="boot-error" role="alert">
        <h1>Branchline</h1>
        <p>{err.message}</p>
      </main>,
    ),
);
