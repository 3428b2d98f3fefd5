// ESLint: typescript-eslint's recommended rules plus Pulumi's Output-in-template-literal checks.
// Formatting is prettier's job (.prettierrc.json); `npm run lint` runs both as checks.
import eslint from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/**", "**/node_modules/**", ".scratch/**", "bin/**", "out/**"] },
    eslint.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: { allowDefaultProject: ["*.mjs"] }, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "prefer-const": "error",
            // Specs and Analyzer payloads are untyped JSON by nature; flagged where they leak into typed code.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
            ],
        },
    },
    {
        files: ["**/*.js", "**/*.mjs"],
        languageOptions: { globals: { require: "readonly", module: "writable", process: "readonly", __dirname: "readonly" } },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
