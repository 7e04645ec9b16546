#!/usr/bin/env node
// `npm run bench`: prints a table per benchmark and writes bench/results/<name>.json.
//   node bench/run.js [hpke|flow|merkleLog|secagg|mpc|mpcSession|scale] [--quick]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchHpke } from './hpke.js';
import { benchFlow } from './flow.js';
import { benchMerkleLog } from './merkle-log.js';
import { benchSecAgg } from './secagg.js';
import { benchMpc } from './mpc.js';
import { benchMpcSession } from './mpc-session.js';
import { benchScale } from './scale.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.filter((a) => !a.startsWith('--'));
const benches = { hpke: benchHpke, flow: benchFlow, merkleLog: benchMerkleLog, secagg: benchSecAgg, mpc: benchMpc, mpcSession: benchMpcSession, scale: benchScale };

mkdirSync(join(here, 'results'), { recursive: true });
for (const [name, run] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n## ${name}`);
  const result = await run({ quick });
  console.table(result.rows);
  for (const note of result.notes ?? []) console.log(`- ${note}`);
  const file = join(here, 'results', `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, at: new Date().toISOString(), node: process.version, ...result }, null, 2));
  console.log(`wrote ${file}`);
}
