/**
 * Types for the parts of flechette's Arrow IPC encoder that the streaming snapshot writer
 * (`arrowWriter.ts`) calls directly. flechette's public `tableToIPC` takes a whole table; its message
 * encoders write one message at a time. The package is pinned (package.json `overrides`), so these
 * internal modules do not move under us; `test/integration/ingestStreaming.test.ts` decodes what they write.
 */
declare module '@uwdata/flechette/src/encode/builder.js' {
  export interface ByteSink {
    write(bytes: Uint8Array): void;
  }
  export class Builder {
    constructor(sink: ByteSink);
    readonly sink: ByteSink;
    /** Bytes handed to the sink so far. */
    outputBytes: number;
    addBuffer(buffer: Uint8Array): number;
  }
}

declare module '@uwdata/flechette/src/encode/message.js' {
  import type { Builder } from '@uwdata/flechette/src/encode/builder.js';
  export interface Block {
    offset: number;
    metadataLength: number;
    bodyLength: number;
  }
  export function writeMessage(
    builder: Builder,
    headerType: number,
    headerOffset: number,
    bodyLength: number,
    blocks?: Block[],
  ): void;
}

declare module '@uwdata/flechette/src/encode/schema.js' {
  import type { Builder } from '@uwdata/flechette/src/encode/builder.js';
  import type { Schema } from '@uwdata/flechette';
  export function encodeSchema(builder: Builder, schema: Pick<Schema, 'fields' | 'metadata'>): number;
}

declare module '@uwdata/flechette/src/encode/record-batch.js' {
  import type { Builder } from '@uwdata/flechette/src/encode/builder.js';
  /** One record batch's layout: field nodes, buffer regions in the body, and the buffers. */
  export interface EncodedBatch {
    byteLength: number;
    nodes: { length: number; nullCount: number }[];
    regions: { offset: number; length: number }[];
    variadic: number[];
    buffers: Uint8Array[];
  }
  export function encodeRecordBatch(builder: Builder, batch: EncodedBatch, compression: null): number;
}

declare module '@uwdata/flechette/src/encode/dictionary-batch.js' {
  import type { Builder } from '@uwdata/flechette/src/encode/builder.js';
  import type { EncodedBatch } from '@uwdata/flechette/src/encode/record-batch.js';
  export function encodeDictionaryBatch(
    builder: Builder,
    dictionaryBatch: { id: number; isDelta: boolean; data: EncodedBatch },
    compression: null,
  ): number;
}

declare module '@uwdata/flechette/src/encode/footer.js' {
  import type { Builder } from '@uwdata/flechette/src/encode/builder.js';
  import type { Block } from '@uwdata/flechette/src/encode/message.js';
  import type { Schema } from '@uwdata/flechette';
  export function writeFooter(
    builder: Builder,
    schema: Pick<Schema, 'fields' | 'metadata'>,
    dictBlocks: Block[],
    recordBlocks: Block[],
    metadata: null,
  ): void;
}
