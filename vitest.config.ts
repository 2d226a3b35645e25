import UnpluginTypia from '@typia/unplugin/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [UnpluginTypia({ log: false })],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The SDK's Node 20 end-of-support notice is for operators, not test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
