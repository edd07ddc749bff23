#!/usr/bin/env node
/**
 * Assembles the GBDT histogram kernel (ml/gbdt/kernel.wat) into ml/gbdt/kernelWasm.ts, the module's
 * bytes as base64, so training loads it synchronously with no build step at install or run time.
 *
 *   npm run kernel            rewrite kernelWasm.ts from kernel.wat
 *   npm run kernel -- --check exit 1 when kernelWasm.ts is not what kernel.wat assembles to
 *
 * wabt is pinned to an exact version in package.json: the same source gives the same bytes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const gbdtDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'ml', 'gbdt');
const sourcePath = path.join(gbdtDir, 'kernel.wat');
const outputPath = path.join(gbdtDir, 'kernelWasm.ts');

/** The TypeScript module holding the bytes `kernel.wat` assembles to. */
export async function kernelModuleSource() {
  const wabt = await wabtInit();
  const text = await readFile(sourcePath, 'utf8');
  const parsed = wabt.parseWat('kernel.wat', text, { simd: true, threads: true });
  try {
    // wabt's own validate() ignores the threads feature; V8 validates the bytes on the next line.
    const { buffer } = parsed.toBinary({ log: false, write_debug_names: false });
    new WebAssembly.Module(buffer);
    const base64 = Buffer.from(buffer).toString('base64');
    return [
      '/**',
      ' * The bytes of the GBDT histogram kernel, assembled from kernel.wat by scripts/buildKernel.mjs',
      ' * (`npm run kernel`). Generated: edit kernel.wat, never this file; a unit test checks they agree.',
      ' */',
      `export const KERNEL_WASM_BASE64 =\n  '${base64}';`,
      '',
    ].join('\n');
  } finally {
    parsed.destroy();
  }
}

async function main() {
  const expected = await kernelModuleSource();
  if (process.argv.includes('--check')) {
    const actual = await readFile(outputPath, 'utf8').catch(() => '');
    if (actual !== expected) {
      console.error(
        'ml/gbdt/kernelWasm.ts is not what ml/gbdt/kernel.wat assembles to: run `npm run kernel`',
      );
      process.exit(1);
    }
    return;
  }
  await writeFile(outputPath, expected);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
