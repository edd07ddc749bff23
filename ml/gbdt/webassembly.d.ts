/**
 * The part of the WebAssembly API the histogram kernel (kernel.ts) uses: Node has it all, but
 * @types/node 20 declares none of it and the DOM library is not ours to include.
 */
declare namespace WebAssembly {
  // A compiled module is opaque: its constructor is all there is to declare.
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class
  class Module {
    constructor(bytes: Uint8Array | ArrayBuffer);
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
