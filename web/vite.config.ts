/**
 * Vite config for the web app. `vite web` (npm run dev:web) serves it with hot reload and proxies
 * /graphql, WebSocket included, to the API on :4000; `vite build` (src/web/build.ts) writes
 * web/dist plus a service worker (sw.js) that precaches exactly the files of that build.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Writes dist/sw.js from web/service-worker.js with this build's file list and a version hash. */
function serviceWorker(): Plugin {
  let outDir = path.join(here, 'dist');
  return {
    name: 'branchline-service-worker',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    async writeBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((f) => !f.endsWith('.map'))
        .map((f) => `/${f}`)
        .sort();
      const precache = ['/', ...files];
      const version = createHash('sha256')
        .update(JSON.stringify(precache))
        .update(JSON.stringify(Object.values(bundle).map((b) => (b.type === 'chunk' ? b.code.length : 0))));
      const template = await readFile(path.join(here, 'service-worker.js'), 'utf8');
      const source = template
        .replace('self.__PRECACHE__', JSON.stringify(precache))
        .replace('self.__VERSION__', JSON.stringify(version.digest('hex').slice(0, 16)));
      await writeFile(path.join(outDir, 'sw.js'), source);
    },
  };
}

export default defineConfig({
  root: here,
  plugins: [react(), serviceWorker()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1200 },
  server: {
    host: '127.0.0.1',
    port: 5173,
    // rewriteWsOrigin: the API accepts WebSocket upgrades only from its own origin (or CORS_ORIGINS).
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:4000', ws: true, changeOrigin: true, rewriteWsOrigin: true },
    },
  },
});
