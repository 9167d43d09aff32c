// Builds tls.js into a WebAssembly component with componentize-js, against contract
// 0.3.0 (the network).
// Usage: node build.mjs OUT.wasm   (needs @bytecodealliance/componentize-js in
// ./node_modules; scripts/build-plugins.sh links the one install-deps.sh installed)
import { componentize } from "@bytecodealliance/componentize-js";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "tls_js.wasm");
const { component } = await componentize({
  sourcePath: join(here, "tls.js"),
  witPath: join(here, "../../plugin-sdk/wit-0.3"),
  worldName: "plugin",
  disableFeatures: ["http", "fetch-event", "random", "clocks", "stdio"],
});
await writeFile(out, component);
console.log(`wrote ${out} (${component.length} bytes)`);
