/** How a person runs the rollout command for a stack: the commands messages name as the way forward. */

/** A word as a POSIX shell reads it back: as is when it is plain, else in single quotes. */
export function shellWord(word: string): string {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `npx istio-canary rollout --stack <stack>`, plus `--config-dir <dir>` when the person gave one. */
export function rolloutCommand(stack: string, configDir?: string): string {
    return `npx istio-canary rollout --stack ${shellWord(stack)}${configDir !== undefined ? ` --config-dir ${shellWord(configDir)}` : ""}`;
}
