/**
 * The built CLI that the end-to-end and chaos runs start as child processes:
 * `dist/src/cli/main.js`, also when a bench module runs from source.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function cliPath(): string {
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  const path = fileURLToPath(new URL(fromSource ? '../dist/src/cli/main.js' : '../src/cli/main.js', import.meta.url));
  if (!existsSync(path)) throw new Error(`the built CLI ${path} is missing: run \`npm run build\` first`);
  return path;
}
