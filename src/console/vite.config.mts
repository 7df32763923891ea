// The console's build: React compiled by Vite's own transform (oxc; the JSX runtime comes from
// tsconfig.json's "jsx": "react-jsx"), served by the gateway at /console (src/server/console.ts).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline <script> or data: module: the console's CSP allows script-src 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: { jsx: { runtime: 'automatic' } },
  logLevel: 'warn',
});
