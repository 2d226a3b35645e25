/**
 * The Dockerfile's promises as rules over its syntax tree (dockerfile-ast, the
 * parser behind the VS Code Docker language server). No Docker engine runs
 * here, so this is what can be checked: structure, base image, user, entry
 * point, what each stage copies, and the build context (.dockerignore).
 */
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

interface Stage {
  readonly name: string | undefined;
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

function args(instruction: Instruction): string[] {
  return instruction.getArguments().map((a) => a.getValue());
}

function flag(instruction: Instruction, name: string): string | undefined {
  const flags = (instruction as Instruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] }).getFlags?.() ?? [];
  return flags.find((f) => f.getName() === name)?.getValue() ?? undefined;
}

function stagesOf(source: string): { stages: Stage[]; argDefaults: Map<string, string> } {
  const dockerfile = DockerfileParser.parse(source);
  const argDefaults = new Map<string, string>();
  const stages: Stage[] = [];
  let current: { name: string | undefined; image: string; instructions: Instruction[] } | undefined;
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'ARG' && current === undefined) {
      const [assignment] = args(instruction);
      const eq = assignment?.indexOf('=') ?? -1;
      if (assignment !== undefined && eq > 0) argDefaults.set(assignment.slice(0, eq), assignment.slice(eq + 1));
      continue;
    }
    if (keyword === 'FROM') {
      const [image = '', as, name] = args(instruction);
      const resolved = image.replace(/^\$\{?(\w+)\}?$/, (_, arg: string) => argDefaults.get(arg) ?? image);
      current = { name: as?.toUpperCase() === 'AS' ? name : undefined, image: resolved, instructions: [] };
      stages.push(current);
      continue;
    }
    current?.instructions.push(instruction);
  }
  return { stages, argDefaults };
}

/** JSON-array (exec form) arguments of ENTRYPOINT/CMD, or undefined for the shell form. */
function execForm(instruction: Instruction): string[] | undefined {
  const text = instruction.getArgumentsContent()?.trim() ?? '';
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const RUN_TEXT = (i: Instruction): string => (i.getArgumentsContent() ?? '').replace(/\\\n/g, ' ').replace(/\s+/g, ' ');

/** Every problem found, as one readable line each; an empty list means the Dockerfile keeps its promises. */
export function checkDockerfile(source: string, dockerignore: string): string[] {
  const problems: string[] = [];
  const { stages } = stagesOf(source);
  if (stages.length < 2) problems.push(`multi-stage: found ${stages.length} stage(s), expected a build stage and a runtime stage`);
  for (const stage of stages) {
    const match = /^node:(\d+)\.(\d+)\.(\d+)-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/.exec(stage.image);
    if (!match) problems.push(`base image "${stage.image}" of stage ${stage.name ?? '?'}: pin node:<major.minor.patch>-<debian>-slim (Debian for GNU env -S in the CLI shebang)`);
    else if (match[1] !== '24') problems.push(`base image "${stage.image}": the image runs Node 24 LTS`);
  }
  for (const stage of stages) {
    for (const i of stage.instructions) {
      if (i.getKeyword() === 'HEALTHCHECK') problems.push('HEALTHCHECK: Kubernetes probes check health; the image must not');
      if (i.getKeyword() === 'ADD') problems.push(`ADD ${args(i).join(' ')}: use COPY (ADD fetches URLs and unpacks archives implicitly)`);
      if (i.getKeyword() === 'RUN' && /\bcurl\b|\bwget\b/.test(RUN_TEXT(i))) problems.push(`RUN ${RUN_TEXT(i)}: nothing is downloaded outside the package managers`);
    }
  }
  const runtime = stages.at(-1);
  if (runtime === undefined) return problems;
  const stageByName = new Map(stages.filter((s) => s.name !== undefined).map((s) => [s.name!, s]));

  // The build stage: a clean install from the lockfile before the build.
  const buildRuns = stages.slice(0, -1).flatMap((s) => s.instructions.filter((i) => i.getKeyword() === 'RUN').map(RUN_TEXT));
  const ciIndex = buildRuns.findIndex((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r));
  const buildIndex = buildRuns.findIndex((r) => /\bnpm run build\b/.test(r));
  if (ciIndex < 0) problems.push('build stage: no `npm ci` (a clean install from the lockfile)');
  if (buildIndex < 0) problems.push('build stage: no `npm run build`');
  if (ciIndex >= 0 && buildIndex >= 0 && buildIndex < ciIndex) problems.push('build stage: `npm run build` runs before `npm ci`');

  // The runtime stage: no toolchain, production dependencies only.
  const runtimeRuns = runtime.instructions.filter((i) => i.getKeyword() === 'RUN').map(RUN_TEXT);
  if (runtimeRuns.some((r) => /\bnpm\b|\bnpx\b/.test(r))) problems.push('runtime stage: runs npm; install and build in earlier stages');
  const copies = runtime.instructions.filter((i) => i.getKeyword() === 'COPY');
  const modulesCopy = copies.find((c) => args(c).some((a) => /node_modules\/?$/.test(a)));
  if (modulesCopy === undefined) problems.push('runtime stage: copies no node_modules');
  else {
    const from = flag(modulesCopy, 'from');
    const source = from === undefined ? undefined : stageByName.get(from);
    const prodOnly = source?.instructions.some((i) => i.getKeyword() === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(RUN_TEXT(i)));
    if (!prodOnly) problems.push(`runtime stage: node_modules come from stage "${from ?? '(context)'}", which does not run \`npm ci --omit=dev\``);
  }
  if (!copies.some((c) => flag(c, 'from') !== undefined && args(c).some((a) => /dist\/?$/.test(a)))) problems.push('runtime stage: copies no compiled dist/ from the build stage');

  // Non-root, by number, and nothing runs as root after it.
  const users = runtime.instructions.filter((i) => i.getKeyword() === 'USER');
  const user = users.at(-1);
  const uid = user === undefined ? undefined : args(user)[0]?.split(':')[0];
  if (uid === undefined) problems.push('runtime stage: no USER (the process would run as root)');
  else if (!/^\d+$/.test(uid) || uid === '0') problems.push(`USER ${uid}: use a numeric non-root UID so runAsNonRoot can verify it`);
  if (user !== undefined) {
    const after = runtime.instructions.slice(runtime.instructions.indexOf(user) + 1);
    if (after.some((i) => i.getKeyword() === 'RUN')) problems.push('runtime stage: RUN after USER');
  }

  // Signals: an init as PID 1 in exec form, so SIGTERM reaches node.
  const entrypoint = runtime.instructions.filter((i) => i.getKeyword() === 'ENTRYPOINT').at(-1);
  const entry = entrypoint === undefined ? undefined : execForm(entrypoint);
  if (entry === undefined) problems.push('ENTRYPOINT: missing or in shell form (a shell as PID 1 does not forward SIGTERM)');
  else {
    if (!/(^|\/)(tini|dumb-init)$/.test(entry[0] ?? '')) problems.push(`ENTRYPOINT ${JSON.stringify(entry)}: start with tini (or dumb-init) so SIGTERM reaches CALI and zombies are reaped`);
    if (!entry.includes('node') || !entry.some((a) => a.endsWith('dist/src/cli/main.js'))) problems.push(`ENTRYPOINT ${JSON.stringify(entry)}: should run node on dist/src/cli/main.js`);
    if (runtimeRuns.every((r) => !/apt-get install\b.*\btini\b/.test(r)) && entry[0]?.endsWith('tini')) problems.push('runtime stage: tini is the entry point but is not installed');
  }
  const cmd = runtime.instructions.filter((i) => i.getKeyword() === 'CMD').at(-1);
  if (cmd !== undefined && execForm(cmd) === undefined) problems.push('CMD: use the exec form');

  // The build context: what the stages copy is in it, and nothing else.
  const ignore = dockerignore.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (ignore[0] !== '**') problems.push('.dockerignore: start with `**` and re-include what the build copies (an allow-list cannot leak new files)');
  const included = new Set(ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')));
  for (const stage of stages) {
    for (const copy of stage.instructions.filter((i) => i.getKeyword() === 'COPY' && flag(i, 'from') === undefined)) {
      for (const sourcePath of args(copy).slice(0, -1)) {
        if (!included.has(sourcePath.replace(/\/$/, ''))) problems.push(`COPY ${sourcePath}: not in the build context (.dockerignore does not re-include it)`);
      }
    }
  }
  for (const leak of ['node_modules', 'dist', '.git', '.env']) {
    if (included.has(leak)) problems.push(`.dockerignore re-includes ${leak}`);
  }
  return problems;
}
