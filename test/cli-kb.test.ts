/**
 * `cali kb ingest`, `cali kb search` and `cali kb resolve` on the built CLI
 * with the default (local) embedder and store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRagConfig } from '../src/config/rag-config.js';
import { openKnowledgeBase } from '../src/pipeline/rag/create.js';
import { incidentText } from '../src/pipeline/rag/knowledge-base.js';
import { Redactor } from '../src/pipeline/redaction.js';
import { cliEnv, runCli } from './support/cli.js';
import { scenarioCandidates } from './support/rag.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cali-cli-kb-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cali kb', () => {
  it('ingests the shipped runbooks, finds them, and a second ingest replaces instead of duplicating', () => {
    const env = cliEnv({ CALI_RAG_DIR: dir });
    const first = runCli(['kb', 'ingest', 'runbooks'], env);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^db-deadlock\.md: \d+ passages$/m);
    const total = /kb ingest: 9 files, (\d+) passages, (\d+) items in cali_kb \(local-hash-v1:256\)/.exec(first.stdout);
    expect(total).not.toBeNull();
    expect(total![1]).toBe(total![2]);
    const again = runCli(['kb', 'ingest', 'runbooks/oom-heap.md'], env);
    expect(again.stdout).toContain(`items in cali_kb`);
    expect(again.stdout).toContain(`, ${total![2]} items`);
    const search = runCli(['kb', 'search', 'HikariPool-1 - Connection is not available, request timed out after 30000ms'], env);
    expect(search.status).toBe(0);
    expect(search.stdout.split('\n')[0]).toMatch(/^runbook {2}0\.\d{3} db-pool-exhausted\.md > /);
  });

  it('resolve records a resolution on an analysed incident; unknown fingerprints and bad input are usage errors', async () => {
    const env = cliEnv({ CALI_RAG_DIR: dir });
    const opened = await openKnowledgeBase(loadRagConfig({ CALI_RAG_DIR: dir }), { redactor: new Redactor() });
    const [{ candidate }] = scenarioCandidates(1, 1).filter((c) => c.scenario === 'jwt-expired') as [ReturnType<typeof scenarioCandidates>[number]];
    const [vector] = await opened.embedder.embed([incidentText(candidate, new Redactor())]);
    await opened.knowledgeBase.recordIncident(candidate, vector!, undefined);
    await opened.close();

    const resolved = runCli(['kb', 'resolve', candidate.fingerprint, 'clock skew on node ip-10-0-1-2; chrony restarted'], env);
    expect(resolved.stderr).toBe('');
    expect(resolved.stdout).toBe(`kb resolve: ${candidate.fingerprint} resolution recorded\n`);
    const search = runCli(['kb', 'search', candidate.template], env);
    expect(search.stdout).toContain(`${candidate.fingerprint} [user-service]`);
    expect(search.stdout).toContain('resolved: clock skew on node ip-10-0-1-2; chrony restarted');

    const unknown = runCli(['kb', 'resolve', '0123456789abcdef', 'x'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^cali: no analysed incident with fingerprint 0123456789abcdef/);
    expect(runCli(['kb', 'resolve', 'nope', 'x'], env).stderr).toMatch(/is not a fingerprint/);
    expect(runCli(['kb', 'ingest', join(dir, 'missing')], env).stderr).toMatch(/does not exist/);
  });

  it('a bad setting fails before touching anything, naming the variable', () => {
    const result = runCli(['kb', 'ingest', 'runbooks'], cliEnv({ CALI_RAG_DIR: dir, CALI_RAG_EMBEDDER: 'openai' }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^cali: OPENAI_API_KEY is not set/);
  });
});
