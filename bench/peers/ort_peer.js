// ONNX Runtime (onnxruntime-node, CPU execution provider) latency of one zoo model, one batch size, one
// thread count (a peer for `modelc bench`).
//
//   node ort_peer.js --onnx FILE --model NAME --batch B --threads T --seconds S [--flush-mb M] [--warmup-seconds W]
//   node ort_peer.js --onnx FILE --model NAME --input NAME:DTYPE:D1xD2... --batch B ...   (any ONNX model)
//
// With --input, FILE is the user's own model (what `modelc bench model.onnx --peers ort` times): its
// input NAME gets a [B, D1, D2, ...] tensor of DTYPE float32 (standard normal) or int64 (0 or 1), and
// the first output is checked; NAME after --model only labels the result.
//
// Adapted from the reference peers' ONNX Runtime script (same session options), reduced to one configuration
// and a machine-readable result.  FILE is written by `export_onnx.py --model NAME --out FILE` (dynamic
// batch dimension, input "input", output "output").  Session options: graphOptimizationLevel 'all',
// intraOpNumThreads T, interOpNumThreads 1, executionMode 'sequential', CPU execution provider.
//
// Input, created once: for gpt-mini an int64 [B,128] tensor of token ids in [0,512); otherwise float32
// [B,3072] (mlp) or [B,3,32,32] (resnet20, vit-tiny) of standard-normal values.  Both come from a
// fixed-seed PRNG (mulberry32, seed 2), so every run sees the same input (not PyTorch's example input:
// the values do not change the work done).
//
// Warm-up: >= 5 runs and >= W seconds (default 0.5).  Then timed runs until they add up to >= S seconds,
// at least 10 and at most 5000 of them; each session.run() is timed on its own (process.hrtime.bigint).
// With --flush-mb M > 0, before each timed run (outside the timed region) every 64-byte line of an M MiB
// buffer is read and written, evicting the last-level cache (the same eviction as modelc's bench driver).
//
// Prints exactly one JSON line on stdout:
//
//   {"peer": "ort", "version": "...", "model": NAME, "batch": B, "threads": T, "times_ns": [...], "cpu_wall": ...}
//
// cpu_wall is the process CPU time (process.cpuUsage, all threads) spent inside the timed runs over their
// summed wall time: about T when T threads really work.  On error a message goes to stderr, exit status 1.
'use strict';

const MAX_CALLS = 5000;
const MIN_CALLS = 10;
const MIN_WARM_CALLS = 5;
const MODELS = ['mlp', 'resnet20', 'vit-tiny', 'gpt-mini'];

class UsageError extends Error {}

function parseArgs(argv) {
  const spec = {
    onnx: 'string', model: 'string', input: 'string', batch: 'int', threads: 'int', seconds: 'number',
    'flush-mb': 'int', 'warmup-seconds': 'number',
  };
  const a = { 'flush-mb': 0, 'warmup-seconds': 0.5 };
  for (let i = 0; i < argv.length; i++) {
    let key = argv[i];
    let val;
    if (!key.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(key)}`);
    key = key.slice(2);
    const eq = key.indexOf('=');
    if (eq >= 0) {
      val = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${key}: missing value`);
      val = argv[++i];
    }
    const kind = spec[key];
    if (!kind) throw new UsageError(`unknown flag --${key}`);
    if (kind === 'string') {
      a[key] = val;
    } else {
      const n = Number(val);
      if (val.trim() === '' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
        throw new UsageError(`--${key} ${JSON.stringify(val)}: not ${kind === 'int' ? 'an integer' : 'a number'}`);
      }
      a[key] = n;
    }
  }
  for (const k of ['onnx', 'model', 'batch', 'threads', 'seconds']) {
    if (a[k] === undefined) throw new UsageError(`--${k} is required`);
  }
  if (a.input !== undefined) {
    const m = /^([^:]+):(float32|int64):(\d+(?:x\d+)*)?$/.exec(a.input);
    if (!m) throw new UsageError(`--input ${JSON.stringify(a.input)}: want NAME:float32|int64:D1xD2... (per-sample dims)`);
    a.inputSpec = { name: m[1], dtype: m[2], dims: m[3] ? m[3].split('x').map(Number) : [] };
  } else if (!MODELS.includes(a.model)) throw new UsageError(`--model ${JSON.stringify(a.model)}: not one of ${MODELS.join(', ')}`);
  if (a.batch < 1) throw new UsageError(`--batch ${a.batch}: must be >= 1`);
  if (a.threads < 1) throw new UsageError(`--threads ${a.threads}: must be >= 1`);
  if (a.seconds < 0) throw new UsageError(`--seconds ${a.seconds}: must be >= 0`);
  if (a['flush-mb'] < 0) throw new UsageError(`--flush-mb ${a['flush-mb']}: must be >= 0`);
  if (a['warmup-seconds'] < 0) throw new UsageError(`--warmup-seconds ${a['warmup-seconds']}: must be >= 0`);
  return a;
}

// mulberry32: small, fast, fixed-seed 32-bit PRNG returning floats in [0, 1).
function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeInput(ort, model, batch, spec) {
  const rand = mulberry32(2);
  if (spec) {
    const dims = [batch, ...spec.dims];
    const n = dims.reduce((x, y) => x * y, 1);
    if (spec.dtype === 'int64') {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = BigInt(Math.floor(rand() * 2));
      return new ort.Tensor('int64', data, dims);
    }
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return new ort.Tensor('float32', data, dims);
  }
  if (model === 'gpt-mini') {
    const dims = [batch, 128];
    const data = new BigInt64Array(batch * 128);
    for (let i = 0; i < data.length; i++) data[i] = BigInt(Math.floor(rand() * 512));
    return new ort.Tensor('int64', data, dims);
  }
  const dims = model === 'mlp' ? [batch, 3072] : [batch, 3, 32, 32];
  const data = new Float32Array(dims.reduce((x, y) => x * y, 1));
  for (let i = 0; i < data.length; i++) { // Box-Muller: standard normal, like torch.randn
    const u = 1 - rand();
    const v = rand();
    data[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return new ort.Tensor('float32', data, dims);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const fs = require('fs');
  if (!fs.existsSync(a.onnx)) throw new UsageError(`--onnx ${a.onnx}: no such file (write it with export_onnx.py)`);
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    throw new Error(`cannot load onnxruntime-node (run \`ONNXRUNTIME_NODE_INSTALL=skip npm ci\` in ${__dirname}): ${e.message}`);
  }
  const session = await ort.InferenceSession.create(a.onnx, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3, // errors only: keep ORT's warnings off the output
  });
  const inName = a.inputSpec ? a.inputSpec.name : 'input';
  const outName = a.inputSpec ? session.outputNames[0] : 'output';
  if (!session.inputNames.includes(inName) || !session.outputNames.includes(outName)) {
    throw new Error(`${a.onnx}: inputs ${session.inputNames}, outputs ${session.outputNames}; want "${inName}" and "${outName}"`);
  }
  const feeds = { [inName]: makeInput(ort, a.model, a.batch, a.inputSpec) };
  const first = await session.run(feeds);
  const dims = first[outName].dims;
  if (dims[0] !== a.batch) throw new Error(`${a.onnx}: output shape [${dims}] for batch ${a.batch}`);

  const flush = new Uint8Array(a['flush-mb'] * 1048576);
  let sink = 0;
  const evict = () => {
    for (let i = 0; i < flush.length; i += 64) {
      flush[i]++;
      sink += flush[i];
    }
  };

  // warm-up
  const wEnd = process.hrtime.bigint() + BigInt(Math.round(a['warmup-seconds'] * 1e9));
  for (let i = 0; i < MIN_WARM_CALLS || process.hrtime.bigint() < wEnd; i++) await session.run(feeds);

  // timed runs
  const times = [];
  let busyNs = 0n;
  let cpuUs = 0;
  const targetNs = BigInt(Math.round(a.seconds * 1e9));
  while (times.length < MIN_CALLS || (busyNs < targetNs && times.length < MAX_CALLS)) {
    if (flush.length > 0) evict();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const t1 = process.hrtime.bigint();
    const cu = process.cpuUsage(c0);
    times.push(Number(t1 - t0));
    busyNs += t1 - t0;
    cpuUs += cu.user + cu.system;
  }
  await session.release();
  const busy = Number(busyNs);
  const result = {
    peer: 'ort',
    version: `${ort.env.versions.node} (onnxruntime-node, CPU EP, node ${process.version})`,
    model: a.model,
    batch: a.batch,
    threads: a.threads,
    times_ns: times,
    cpu_wall: busy > 0 ? Math.round((cpuUs * 1000 / busy) * 1e4) / 1e4 : 0,
  };
  if (sink < 0) console.error(sink); // keeps the eviction loop from being optimised away
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`ort_peer.js: ${(err && err.message) || err}\n`);
  process.exitCode = 1;
});
