export * from './creation.js';
export * from './elementwise.js';
export * from './matmul.js';
export * from './nn.js';
export * from './reduce.js';
export * from './shape.js';
export * from './quant.js';
