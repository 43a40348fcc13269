// The one HTML shell of every panel: a strict CSP with a per-load nonce, resources from media/
// only, and no data pasted into the markup (data arrives by postMessage and is rendered as text).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, entry: string, title: string): string {
  const nonce = randomBytes(18).toString('base64');
  const media = (...p: string[]): vscode.Uri => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', ...p));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${media('panel.css')}">
<title>${title}</title>
</head>
<body>
<main id="app"></main>
<script type="module" nonce="${nonce}" src="${media('dist', `${entry}.js`)}"></script>
</body>
</html>`;
}
