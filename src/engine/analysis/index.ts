// The analyses of SPEC.md as a library: small JSON-able results from a model file, an activation
// cache and a projection engine (reference/ for the plain one, ../compute for ggml).
export * from './anatomy';
export * from './attention';
export * from './dictionary';
export * from './dictStats';
export * from './engine';
export * from './headMap';
export * from './heatmap';
export * from './lens';
export * from './middle';
export * from './similarity';
export * from './states';
export * from './weightStats';
export * from './wordList';
export { ReferenceEngine } from './reference/projection';
export { referenceReducer } from './reference/reducer';
