/**
 * `@peftjs/quant-nf4`: bitsandbytes-exact 4-bit (NF4 / FP4, with double quantization) and LLM.int8 weight storage.
 * @packageDocumentation
 */
export * from './blockwise.js';
export * from './codes.js';
export * from './errors.js';
export * from './int8.js';
