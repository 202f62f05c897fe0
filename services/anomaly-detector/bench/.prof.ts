import { generateDataset } from '../src/eval/dataset';
import { evaluate } from '../src/eval/evaluate';
const d = generateDataset({ seed: 42 });
const t = performance.now();
evaluate(d);
console.log(performance.now() - t);
