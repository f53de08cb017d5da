import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

// `vite build`            → the demo page, into ../src/switchboard/static (served by `switchboard serve` at /)
// `vite build --mode lib` → the library (core + React binding) into dist/lib; `tsc -p tsconfig.lib.json` adds the .d.ts
export default defineConfig(({ mode }) => ({
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  server: {
    // `npm run dev` against a local `switchboard serve` (default port 8000).
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/socket.io': { target: 'http://127.0.0.1:8000', ws: true },
    },
  },
  build:
    mode === 'lib'
      ? {
          outDir: resolve(root, 'dist/lib'),
          emptyOutDir: true,
          sourcemap: true,
          lib: {
            entry: {
              index: resolve(root, 'src/lib/index.ts'),
              react: resolve(root, 'src/lib/react.tsx'),
            },
            formats: ['es'],
          },
          rollupOptions: {
            external: ['react', 'react/jsx-runtime', 'react-dom', 'socket.io-client'],
          },
        }
      : {
          outDir: resolve(root, '../src/switchboard/static'),
          emptyOutDir: true,
          sourcemap: true,
        },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
}));
