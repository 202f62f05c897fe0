// `tsx services/risk-scorer/bin/pulsegate-risk.ts gate …` — the same code as `pulsegate risk …`.
import { runRiskCli } from '../src/cli/risk-cli';

runRiskCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`risk: ${String(err)}\n`);
    process.exitCode = 2;
  },
);
