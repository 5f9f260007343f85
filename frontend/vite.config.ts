import { defineConfig } from "vitest/config";

// Output names are stable (no hash): Django's ManifestStaticFilesStorage adds the content hash
// when collectstatic copies dist/ into the static root.
//
// The project pages' schema preview reuses the workspace's views. Built with the other entries,
// the modules they share would move into a shared chunk that the workspace then loads as a
// second, unhashed request (collectstatic does not rewrite module imports); so it is a second
// build (`--mode preview`, into the same dist/) and each page keeps one self-contained script.
const ENTRIES: Record<string, Record<string, string>> = {
  production: {
    pages: "src/pages.ts",
    imports: "src/imports.ts",
    workspace: "src/workspace/main.ts",
  },
  preview: { preview: "src/preview/main.ts" },
};

export default defineConfig(({ mode }) => ({
  base: "/static/",
  build: {
    outDir: "dist",
    emptyOutDir: mode !== "preview",
    target: "es2022",
    sourcemap: false,
    rollupOptions: {
      input: ENTRIES[mode] ?? ENTRIES["production"],
      output: {
        entryFileNames: "labelkeep/[name].js",
        chunkFileNames: "labelkeep/[name].js",
        assetFileNames: "labelkeep/[name][extname]",
      },
    },
  },
  test: { environment: "jsdom", globals: true },
}));
