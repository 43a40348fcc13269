// The webview's handle on the host (acquireVsCodeApi may be called once per page).
export interface VsCodeApi<S> {
  postMessage(msg: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

let api: VsCodeApi<unknown> | undefined;

export function vscodeApi<S>(): VsCodeApi<S> {
  return (api ??= acquireVsCodeApi<unknown>()) as VsCodeApi<S>;
}

/** A theme colour from VS Code's CSS variables, with a fallback for charts drawn on canvas. */
export function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(`--vscode-${name}`).trim() || fallback;
}

/** Create an element with text content (never innerHTML: tokens can be "<script>"). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
