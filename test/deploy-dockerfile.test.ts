/**
 * The Dockerfile, checked without a Docker engine: its rules
 * (test/support/deploy/dockerfile-rules.ts) hold for the real file, and each
 * rule fails on a copy broken in the way it guards against.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { checkDockerfile } from './support/deploy/dockerfile-rules.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const dockerignore = readFileSync('.dockerignore', 'utf8');

function problemsWith(replace: string | RegExp, by: string, ignore = dockerignore): string[] {
  const broken = dockerfile.replace(replace, by);
  expect(broken, `the mutation ${String(replace)} must change the file`).not.toBe(dockerfile);
  return checkDockerfile(broken, ignore);
}

describe('Dockerfile', () => {
  it('keeps every rule', () => {
    expect(checkDockerfile(dockerfile, dockerignore)).toEqual([]);
  });

  it('copies only files that exist in the repository', () => {
    const sources = DockerfileParser.parse(dockerfile).getCOPYs()
      .filter((c) => !c.getFlags().some((f) => f.getName() === 'from'))
      .flatMap((c) => c.getArguments().slice(0, -1).map((a) => a.getValue()));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(source), source).toBe(true);
  });

  it('the build stage holds everything the build compiles and imports', () => {
    const copied = new Set(DockerfileParser.parse(dockerfile).getCOPYs()
      .filter((c) => !c.getFlags().some((f) => f.getName() === 'from'))
      .flatMap((c) => c.getArguments().slice(0, -1).map((a) => a.getValue().replace(/\/$/, ''))));
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { extends: string; include: string[] };
    for (const path of [...build.include, build.extends.replace(/^\.\//, ''), 'tsconfig.build.json', 'scripts', 'package.json', 'package-lock.json']) {
      expect(copied, path).toContain(path);
    }
    // Nothing compiled reaches outside the copied folders (e.g. into test/).
    const escapes: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(c|m)?ts$/.test(entry.name)) {
          for (const [, spec] of readFileSync(path, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
            const top = relative('.', resolve(dirname(path), spec!)).split(sep)[0]!;
            if (!copied.has(top)) escapes.push(`${path} imports ${spec}`);
          }
        }
      }
    };
    for (const dir of build.include) walk(dir);
    expect(escapes).toEqual([]);
  });

  it('the runtime entry is the CLI the package declares', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { cali: string } };
    expect(dockerfile).toContain(`/app/${pkg.bin.cali}`);
  });

  it.each([
    ['root user', /USER 1000:1000\n/, 'USER root\n', /USER root: use a numeric non-root UID/],
    ['no user', /USER 1000:1000\n/, '', /no USER/],
    ['unpinned base', 'node:24.11.1-bookworm-slim', 'node:24-slim', /pin node:<major.minor.patch>/],
    ['alpine base', 'node:24.11.1-bookworm-slim', 'node:24.11.1-alpine', /Debian for GNU env -S/],
    ['older Node', 'node:24.11.1-bookworm-slim', 'node:22.21.0-bookworm-slim', /runs Node 24 LTS/],
    ['a HEALTHCHECK', 'EXPOSE 9464\n', 'EXPOSE 9464\nHEALTHCHECK CMD node -e 1\n', /HEALTHCHECK/],
    ['shell-form entry', /ENTRYPOINT \[.*\]\n/, 'ENTRYPOINT node /app/dist/src/cli/main.js\n', /shell form/],
    ['no init', '"/usr/bin/tini", "--", ', '', /start with tini/],
    ['dev dependencies shipped', 'npm ci --omit=dev --ignore-scripts', 'npm ci --ignore-scripts', /does not run `npm ci --omit=dev`/],
    ['build before install', /RUN --mount=type=cache,target=\/root\/.npm \\\n {4}npm ci --no-audit --no-fund\n/, '', /no `npm ci`/],
    ['single stage', /FROM \$\{NODE_IMAGE\} AS deps[\s\S]*FROM \$\{NODE_IMAGE\} AS runtime\n/, '', /node_modules come from stage "deps"|multi-stage/],
  ])('fails on %s', (_name, replace, by, expected) => {
    expect(problemsWith(replace, by).join('\n')).toMatch(expected);
  });

  it('fails when the build context does not hold what a stage copies', () => {
    const problems = checkDockerfile(dockerfile, dockerignore.replace('!src/\n', ''));
    expect(problems.join('\n')).toMatch(/COPY src\/: not in the build context/);
  });

  it('fails on a deny-list .dockerignore', () => {
    expect(checkDockerfile(dockerfile, 'node_modules\n').join('\n')).toMatch(/start with `\*\*`/);
  });
});
