import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { loadRagConfig, type RagConfig } from '../../config/rag-config.js';
import type { openKnowledgeBase as OpenKnowledgeBase } from '../../pipeline/rag/create.js';
import { CaliError } from '../../errors.js';
import { Redactor } from '../../pipeline/redaction.js';
import { intOption } from '../options.js';

/** Loaded on use: the OpenAI client is not every command's start-up cost. */
async function openKnowledgeBase(...args: Parameters<typeof OpenKnowledgeBase>): ReturnType<typeof OpenKnowledgeBase> {
  return (await import('../../pipeline/rag/create.js')).openKnowledgeBase(...args);
}

/** A Markdown file and the name its passages are shown under. */
export interface RunbookFile {
  readonly path: string;
  readonly source: string;
}

/** Files as given, and the *.md files under directories (sources relative to the directory). */
export async function collectRunbooks(paths: readonly string[]): Promise<RunbookFile[]> {
  const files: RunbookFile[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new CaliError('CALI_ERR_USAGE', `${path} does not exist: pass Markdown files or directories that hold them`);
    }
    if (info.isFile()) {
      files.push({ path, source: basename(path) });
      continue;
    }
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !/\.(md|markdown)$/i.test(entry.name)) continue;
      const full = join(entry.parentPath, entry.name);
      files.push({ path: full, source: relative(path, full).split(sep).join('/') });
    }
  }
  return files.sort((a, b) => (a.source < b.source ? -1 : 1));
}

/** `cali kb ingest`, and `cali local` for each consumer's knowledge base. */
export async function ingestRunbooks(config: RagConfig, paths: readonly string[], report: (line: string) => void): Promise<void> {
  const files = await collectRunbooks(paths);
  if (files.length === 0) throw new CaliError('CALI_ERR_USAGE', `no Markdown files under ${paths.join(', ')}: pass *.md files or directories holding them`);
  const opened = await openKnowledgeBase(config, { redactor: new Redactor() });
  try {
    let chunks = 0;
    for (const file of files) {
      const count = await opened.knowledgeBase.ingestRunbook(file.source, await readFile(file.path, 'utf8'));
      chunks += count;
      report(`${file.source}: ${count} passages`);
    }
    report(`kb ingest: ${files.length} files, ${chunks} passages, ${await opened.knowledgeBase.collection.count()} items in ${opened.knowledgeBase.collection.name} (${opened.embedder.modelId})`);
  } finally {
    await opened.close();
  }
}

export function registerKb(program: Command): void {
  const kb = program.command('kb').description('the RAG knowledge base: runbooks and analysed incidents (CALI_RAG_* settings)');
  kb
    .command('ingest')
    .description('chunk Markdown runbooks by heading and store them; a file ingested again replaces its passages')
    .argument('<paths...>', 'Markdown files, or directories searched for *.md')
    .addHelpText('after', `
Passages are redacted, embedded with the configured embedder and stored in the
configured store (default: the local directory CALI_RAG_DIR, .cali/kb). The
repository ships runbooks for the simulator's scenarios: cali kb ingest runbooks/`)
    .action(async (paths: string[]) => {
      await ingestRunbooks(loadRagConfig(process.env), paths, (line) => process.stdout.write(`${line}\n`));
    });
  kb
    .command('resolve')
    .description('record how an incident was resolved; later analyses of similar incidents show it')
    .argument('<fingerprint>', 'the incident\'s fingerprint (16 hex digits, as in the alert)')
    .argument('<text>', 'what fixed it, e.g. "raised maxPoolSize to 40; slow query fixed in #1234"')
    .action(async (fingerprint: string, text: string) => {
      if (!/^[0-9a-f]{16}$/.test(fingerprint)) throw new CaliError('CALI_ERR_USAGE', `"${fingerprint}" is not a fingerprint: use the 16 hex digits from the alert`);
      if (text.trim() === '') throw new CaliError('CALI_ERR_USAGE', 'the resolution text is empty: say what fixed the incident');
      const opened = await openKnowledgeBase(loadRagConfig(process.env), { redactor: new Redactor() });
      try {
        if (!(await opened.knowledgeBase.resolve(fingerprint, text))) {
          throw new CaliError('CALI_ERR_USAGE', `no analysed incident with fingerprint ${fingerprint} in ${opened.knowledgeBase.collection.name}: check the fingerprint and CALI_RAG_DIR / CALI_RAG_COLLECTION`);
        }
        process.stdout.write(`kb resolve: ${fingerprint} resolution recorded\n`);
      } finally {
        await opened.close();
      }
    });
  kb
    .command('search')
    .description('show what the knowledge base returns for a text (the analyzer\'s retrieval, for checking runbooks)')
    .argument('<text>', 'an error message or template')
    .option('-k, --top <n>', 'how many of each kind', intOption(1, 50), 3)
    .action(async (text: string, flags: { top: number }) => {
      const config = loadRagConfig(process.env);
      const opened = await openKnowledgeBase(config, { redactor: new Redactor() });
      try {
        const [vector] = await opened.embedder.embed([new Redactor().redact(text)]);
        for (const hit of await opened.knowledgeBase.similarIncidents(vector!, flags.top, 0)) {
          process.stdout.write(`incident ${hit.similarity.toFixed(3)} ${hit.fingerprint} [${hit.service}] ${hit.template}${hit.resolution ? ` -- resolved: ${hit.resolution}` : ''}\n`);
        }
        for (const hit of await opened.knowledgeBase.runbookPassages(vector!, flags.top, 0)) {
          process.stdout.write(`runbook  ${hit.similarity.toFixed(3)} ${hit.source} > ${hit.heading}\n`);
        }
      } finally {
        await opened.close();
      }
    });
}
