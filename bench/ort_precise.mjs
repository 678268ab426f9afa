#!/usr/bin/env node
// Runs the peer runner (../shared/peers/ort-run.mjs, same arguments) with ONNX Runtime's precise integer mode,
// the session option "session.x64quantprecision" = "1": on x86 CPUs without VNNI, ORT then multiplies int8
// weights as uint8 (exact 16-bit products) instead of in its default u8 × s8 kernels, whose 16-bit pair sums
// (VPMADDUBSW) saturate. On VNNI CPUs the option changes nothing.
// Usage: node ort_precise.mjs PEER/ort-run.mjs MODEL.onnx INPUT.npy [ort-run.mjs options]
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const runner = process.argv[2];
if (!runner || !process.env.ORT_PREFIX) {
  console.error('usage: ORT_PREFIX=DIR node ort_precise.mjs PEER/ort-run.mjs MODEL.onnx INPUT.npy [options]');
  process.exit(2);
}
// The runner loads onnxruntime-node from $ORT_PREFIX first: the same module instance as this one.
const ort = createRequire(path.resolve(process.env.ORT_PREFIX, 'node_modules', 'x.js'))('onnxruntime-node');
const create = ort.InferenceSession.create.bind(ort.InferenceSession);
ort.InferenceSession.create = (model, options = {}) =>
  create(model, { ...options, extra: { ...(options.extra || {}), session: { x64quantprecision: '1' } } });
process.argv.splice(2, 1);
await import(pathToFileURL(path.resolve(runner)).href);
