/** WGSL sources, imported as text (tsup's text loader; vitest through the plugin in vitest.config.ts). */
declare module "*.wgsl" {
  const source: string;
  export default source;
}
