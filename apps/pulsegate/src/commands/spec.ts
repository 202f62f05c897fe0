import { checkOverrides, diffSpecs, lintSpec, LINT_RULES, RULES, rulesMarkdown, SpecError, type LintReport, type SpecDiff } from '@pulsegate/risk-scorer';
import { cell, CliError, formatFlag, parseArgs, processIo, readText, ruleOverrides, type CliIo, type Format } from './cli';

/** Exit codes of `pulsegate spec`: 0 clean, 1 errors found, 2 could not run. */
export const SPEC_EXIT = { clean: 0, errors: 1, failed: 2 } as const;

const USAGE = `usage:
  pulsegate spec diff OLD NEW [--format text|json|markdown] [--rule <rule id>=error|warning|info|off]…
  pulsegate spec lint SPEC [--format text|json|markdown]
  pulsegate spec rules [--format text|json|markdown]
OpenAPI 3.0 or 3.1, JSON or YAML. Exit codes: 0 clean, 1 errors found, 2 could not run.`;

function diffText(d: SpecDiff, format: Format): string {
  if (format === 'json') return JSON.stringify(d, null, 2) + '\n';
  const head = `${d.oldVersion ?? '?'} -> ${d.newVersion ?? '?'}: ${d.counts.error} error(s), ${d.counts.warning} warning(s), ${d.counts.info} info`;
  if (format === 'markdown') {
    const lines = [`### Spec diff ${head}`, ''];
    if (d.findings.length > 0) {
      lines.push('| Severity | Rule | Action | Where | What |', '| --- | --- | --- | --- | --- |');
      for (const f of d.findings) lines.push(`| ${f.severity} | \`${f.rule}\` | ${cell(f.operation || '(document)')} | ${cell(f.location)} | ${cell(f.message)} |`);
    } else lines.push('No changes found.');
    return lines.join('\n') + '\n';
  }
  const lines = [head];
  for (const f of d.findings) lines.push(`  ${f.severity.padEnd(7)} ${f.rule}  ${f.operation || '(document)'}${f.location === '' ? '' : ` ${f.location}`}: ${f.message}`);
  return lines.join('\n') + '\n';
}

function lintText(r: LintReport, format: Format, path: string): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  const head = `${r.counts.error} error(s), ${r.counts.warning} warning(s); ${r.actions} action(s), documentation completeness ${(r.documentationCompleteness * 100).toFixed(0)} %`;
  if (format === 'markdown') {
    const lines = [`### Lint ${cell(path)}: ${head}`, ''];
    if (r.findings.length > 0) {
      lines.push('| Severity | Rule | Path | Message |', '| --- | --- | --- | --- |');
      for (const f of r.findings) lines.push(`| ${f.severity} | \`${f.rule}\` | \`${cell(f.path.join('.'))}\` | ${cell(f.message)} |`);
    } else lines.push('No findings.');
    return lines.join('\n') + '\n';
  }
  return [head, ...r.findings.map((f) => `  ${f.severity.padEnd(7)} ${f.rule}  ${f.path.join('.')}: ${f.message}`)].join('\n') + '\n';
}

function rulesText(format: Format): string {
  if (format === 'json') return JSON.stringify({ diff: RULES, lint: LINT_RULES }, null, 2) + '\n';
  if (format === 'markdown') return rulesMarkdown();
  return [...RULES.map((r) => `${r.severity.padEnd(7)} ${r.id}: ${r.description}`), ...LINT_RULES.map((r) => `${r.severity.padEnd(7)} ${r.id} (lint): ${r.description}`)].join('\n') + '\n';
}

/** A SpecError's message with the field replaced by the file it came from. */
function named(err: unknown, names: Record<string, string>): never {
  if (err instanceof SpecError) {
    let m = err.message;
    for (const [field, path] of Object.entries(names)) m = m.replace(new RegExp(`^${field}`), path);
    throw new CliError(m);
  }
  throw err;
}

/**
 * `pulsegate spec diff|lint|rules`: the release gate's spec analysis on local files. Resolves
 * to the exit code (SPEC_EXIT).
 */
export async function runSpecCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'diff') {
      const a = parseArgs(rest, { values: ['format'], repeatable: ['rule'], positional: 2 });
      if (a.positional.length !== 2) throw new CliError('spec diff needs OLD and NEW', true);
      const format = formatFlag(a.flags);
      const overrides = ruleOverrides(a.lists.get('rule'));
      try {
        checkOverrides(overrides, '--rule');
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const [oldPath, newPath] = a.positional as [string, string];
      const [oldText, newText] = await Promise.all([readText(oldPath, 'OLD'), readText(newPath, 'NEW')]);
      let d: SpecDiff;
      try {
        d = diffSpecs(oldText, newText, { overrides });
      } catch (err) {
        named(err, { oldSpec: oldPath, newSpec: newPath });
      }
      io.stdout.write(diffText(d, format));
      return d.counts.error > 0 ? SPEC_EXIT.errors : SPEC_EXIT.clean;
    }
    if (command === 'lint') {
      const a = parseArgs(rest, { values: ['format'], positional: 1 });
      if (a.positional.length !== 1) throw new CliError('spec lint needs SPEC', true);
      const format = formatFlag(a.flags);
      const path = a.positional[0]!;
      const text = await readText(path, 'SPEC');
      let r: LintReport;
      try {
        r = lintSpec(text, 'spec');
      } catch (err) {
        named(err, { spec: path });
      }
      io.stdout.write(lintText(r, format, path));
      return r.counts.error > 0 ? SPEC_EXIT.errors : SPEC_EXIT.clean;
    }
    if (command === 'rules') {
      const a = parseArgs(rest, { values: ['format'] });
      io.stdout.write(rulesText(formatFlag(a.flags)));
      return SPEC_EXIT.clean;
    }
    if (command === 'help' || command === '--help' || command === '-h') {
      io.stdout.write(USAGE + '\n');
      return SPEC_EXIT.clean;
    }
    throw new CliError(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`, true);
  } catch (err) {
    io.stderr.write(`spec: ${err instanceof CliError ? err.message : `unexpected error: ${(err as Error).message}`}\n`);
    if (err instanceof CliError && err.usage) io.stderr.write(USAGE + '\n');
    return SPEC_EXIT.failed;
  }
}
