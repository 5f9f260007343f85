import { defineConfig } from "vitest/config";

// Output names are stable (no hash): Django's ManifestStaticFilesStorage adds the content hash
// when collectstatic copies dist/ into the static root.
export default defineConfig({
  base: "/static/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    rollupOptions: {
      input: {
        pages: "src/pages.ts",
        imports: "src/imports.ts",
        workspace: "src/workspace/main.ts",
      },
      output: {
        entryFileNames: "labelkeep/[name].js",
        chunkFileNames: "labelkeep/[name].js",
        assetFileNames: "labelkeep/[name][extname]",
      },
    },
  },
  test: { environment: "jsdom", globals: true },
});
