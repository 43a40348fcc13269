// A failed load as the user reads it: the reason first, then what to do, and the file's name at
// the end, not a long path in front of the reason (the engine's messages name the path first, as
// the CLI wants). No 'vscode' here.
import { escapeControls, quoteFileText } from '../errors';

/** The message with a leading path (plain or quoted) and its connecting words moved to the end. */
export function reasonFirst(message: string, modelPath: string | undefined, displayName?: string): string {
  if (!modelPath) return message;
  const name = displayName || modelPath.split(/[\\/]/).pop() || modelPath;
  for (const prefix of [quoteFileText(modelPath, 200), `"${modelPath}"`, modelPath]) {
    if (!message.startsWith(prefix)) continue;
    const rest = message
      .slice(prefix.length)
      .replace(/^\s*(cannot be used|is not a readable GGUF model|could not be loaded)?\s*:?\s*/i, '')
      .trim();
    if (rest === '') break;
    return `${rest[0]!.toUpperCase()}${rest.slice(1)} (${escapeControls(name)})`;
  }
  return message;
}
