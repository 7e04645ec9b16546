// Builds the console into dist/ (served by the platform server at `/`). `TENZRO_API` proxies /v1 and
// /.well-known to a running server during `npm run dev -w @tenzro/console`.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';

const api = process.env.TENZRO_API ?? 'http://127.0.0.1:8787';

export default defineConfig({
  base: '/',
  plugins: [react()],
  resolve: { alias: [{ find: /^crypto$/, replacement: fileURLToPath(new URL('./src/node-crypto-shim.ts', import.meta.url)) }] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
  server: { proxy: { '/v1': api, '/.well-known': api } },
});
