// The demo model: what the rest of the extension uses (building it, finding it, its word lists).
export {
  buildDemoModel,
  demoModelPath,
  demoModelVersion,
  ensureDemoModel,
  readDemoReport,
  DEMO_BUILDER_VERSION,
  DEMO_DEFAULT_SEED,
  DEMO_KEYS,
  DEMO_MODEL_FILE,
  DEMO_NAME,
  DEMO_FIRST_SINK_LAYER,
  DEMO_INDUCTION_HEAD,
  DEMO_LATE_PREV_TOKEN_HEAD,
  DEMO_PREV_TOKEN_HEAD,
  DEMO_SHAPE,
  type DemoBuildOptions,
  type DemoReport,
  type EnsureDemoOptions,
} from './builder';
export { categoryOf, demoWords, DEMO_CATEGORIES, DEMO_CATEGORY_NAMES, FUNCTION_WORDS, type DemoCategory } from './grammar';
