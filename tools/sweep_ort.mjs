#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime on every row of a .npy batch and writes the outputs, for
// tools/sweep_check.sh. Unlike ../shared/peers/ort-run.mjs (one run of the whole array, for timing) it
// feeds models whose batch dimension is fixed (torch.onnx's default) one chunk of that batch at a time.
// Usage: ORT_PREFIX=DIR node sweep_ort.mjs MODEL.onnx INPUT.npy OUT.npy
//   INPUT.npy: float32, C order, first dimension = samples. OUT.npy: the first output, rows joined.
// Exit status 3 when ONNX Runtime refuses the model (the message is on stderr).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const prefix = process.env.ORT_PREFIX;
let ort;
try {
  ort = createRequire(path.resolve(prefix || '.', 'node_modules', 'x.js'))('onnxruntime-node');
} catch {
  console.error(`onnxruntime-node not found under ORT_PREFIX=${prefix}`);
  process.exit(2);
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: float32 expected`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(Boolean).map(Number);
  const body = buf.subarray(hstart + hlen);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  return { shape, data: new Float32Array(copy.buffer) };
}

function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

const [modelPath, inputPath, outPath] = process.argv.slice(2);
let session;
try {
  session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
} catch (e) {
  console.error(`ORT refuses ${modelPath}: ${e.message}`);
  process.exit(3);
}
const x = readNpy(inputPath);
const n = x.shape[0], row = x.data.length / n;
// The model's own batch when fixed, else the whole array at once.
let batch = n;
try {
  const meta = session.inputMetadata?.[0] ?? session.inputMetadata?.[session.inputNames[0]];
  const b = meta?.shape?.[0];
  if (typeof b === 'number' && b > 0) batch = b;
} catch { /* older onnxruntime-node without metadata: try the whole array */ }
const outs = [];
let outShape;
for (let i = 0; i < n; i += batch) {
  const take = Math.min(batch, n - i);
  const chunk = new Float32Array(batch * row);
  chunk.set(x.data.subarray(i * row, (i + take) * row));
  for (let k = take; k < batch; k++) chunk.set(x.data.subarray((n - 1) * row, n * row), k * row);
  let y;
  try {
    y = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', chunk, [batch, ...x.shape.slice(1)]) }))[session.outputNames[0]];
  } catch (e) {
    console.error(`ORT fails to run ${modelPath}: ${e.message}`);
    process.exit(3);
  }
  const per = y.data.length / batch;
  outs.push(y.data.subarray(0, take * per));
  outShape = [...y.dims];
}
const total = outs.reduce((s, o) => s + o.length, 0);
const all = new Float32Array(total);
let off = 0;
for (const o of outs) { all.set(o, off); off += o.length; }
outShape[0] = n;
writeNpy(outPath, outShape, all);
