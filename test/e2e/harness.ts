// Drives the real workbench (code-server) in a real browser (Debian's Chromium) through
// playwright-core, the way shared/notes/vscode-e2e-offline.md found reliable: fresh folders every
// run, wait for what the user would see before acting, click into the editor before keys,
// F1 + title for commands, two-step mouse moves for hovers, 30 s timeouts.
//
//   const wb = useWorkbench({ name: 'scenario', files: { 'prompt.txt': 'I like the red ball\n' } });
//   test('...', async () => {
//     await wb().openFile('prompt.txt');
//     await wb().selectText('I like the red ball');
//     await wb().runCommand('Inner World: Inspect Selection');
//     await wb().webview().getByText('ball').waitFor();
//   });
//
// The repo is linked in as the extension; `vsix: 'file.vsix'` installs a packaged one instead
// (code-server --install-extension into the clean extensions folder), as test/e2e/vsix.test.ts does.
import { after, afterEach, before } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { findChromium, startCodeServer, type RunningCodeServer, type StartOptions } from '../../scripts/e2e/codeServer';

export const TIMEOUT = 30_000;
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results', 'e2e');
const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string };
/** This extension's id, "publisher.name", as VS Code spells it (e.g. for webview({ extension })). */
export const EXTENSION_ID = `${manifest.publisher}.${manifest.name}`;

/** Console errors a fresh offline workbench prints on its own; anything else is reported. */
export const EXPECTED_CONSOLE_ERRORS: RegExp[] = [
  /open-vsx\.org/i,
  /github/i, // the built-in GitHub authentication provider, offline
  /vsda/i, // the signing module code-server does not ship (404)
  /net::ERR_(NAME_NOT_RESOLVED|INTERNET_DISCONNECTED|CONNECTION_REFUSED|NETWORK_CHANGED)/,
  /marketplace|gallery/i,
  // VS Code's own slow-machine messages, by their text: a save participant that ran out of time
  // under load ("Aborted onWillSaveTextDocument-event after 1750ms") is timing noise of VS Code,
  // not something the extension did
  /Aborted onWill\w+-event after \d+ms/,
];

export interface WorkbenchOptions extends StartOptions {
  /** names the results folder test-results/e2e/<name>/ */
  name: string;
  /** browser viewport (default 1400 x 900) */
  viewport?: { width: number; height: number };
}

export interface Notification {
  message: string;
  /** the extension's display name; VS Code fills it only in some toasts (progress, expanded), else '' */
  source: string;
  severity: 'error' | 'warning' | 'info';
}

export class Workbench {
  readonly consoleErrors: string[] = [];
  /** ms from the start call to code-server answering, and to the workbench being ready */
  readonly timings = { codeServerMs: 0, workbenchMs: 0 };
  private shots = 0;

  private constructor(
    readonly name: string,
    readonly server: RunningCodeServer,
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly profileDir: string,
  ) {}

  /** code-server with the extension linked in, Chromium on it, workbench ready (explorer lists a file). */
  static async start(opts: WorkbenchOptions): Promise<Workbench> {
    const t0 = Date.now();
    const executablePath = findChromium();
    const files = opts.files ?? { 'README.txt': 'e2e workspace\n' };
    const server = await startCodeServer({ ...opts, files });
    const codeServerMs = Date.now() - t0;
    const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-chromium-'));
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(profileDir, {
        executablePath,
        headless: true,
        viewport: opts.viewport ?? { width: 1400, height: 900 },
        timeout: TIMEOUT,
        env: {
          ...process.env,
          XDG_CONFIG_HOME: path.join(profileDir, 'xdg-config'),
          XDG_CACHE_HOME: path.join(profileDir, 'xdg-cache'),
          XDG_DATA_HOME: path.join(profileDir, 'xdg-data'),
        },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
      });
      context.setDefaultTimeout(TIMEOUT);
      const page = context.pages()[0] ?? (await context.newPage());
      const wb = new Workbench(opts.name, server, context, page, profileDir);
      fs.mkdirSync(wb.resultsDir, { recursive: true });
      page.on('console', (m) => {
        if (m.type() === 'error') wb.consoleErrors.push(`${m.text()}${m.location().url ? ` [${m.location().url}]` : ''}`);
      });
      page.on('pageerror', (e) => wb.consoleErrors.push(`pageerror: ${e.message}`));
      // the first load of the workbench (and of its extension host) takes minutes on a busy 2-core machine
      await page.goto(server.url, { timeout: TIMEOUT * 4 });
      await wb.waitReady(Object.keys(files)[0]!);
      wb.timings.codeServerMs = codeServerMs;
      wb.timings.workbenchMs = Date.now() - t0;
      return wb;
    } catch (e) {
      await context?.close().catch(() => undefined);
      server.saveLogs(path.join(RESULTS_DIR, opts.name, 'start-failure'));
      await server.stop();
      fs.rmSync(profileDir, { recursive: true, force: true });
      throw e;
    }
  }

  get resultsDir(): string {
    return path.join(RESULTS_DIR, this.name);
  }

  /** The workbench is drawn and the explorer lists `someFile` (a top-level workspace file). */
  async waitReady(someFile: string): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: TIMEOUT * 4 });
    const top = someFile.split('/')[0]!;
    await this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: top }).first().waitFor({ timeout: TIMEOUT * 4 });
  }

  /** Ctrl+P, the file's path, Enter; waits for its tab to be the active one and the editor to show. */
  async openFile(relPath: string): Promise<void> {
    const base = path.basename(relPath);
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(relPath);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: base }).first().waitFor();
    await this.page.keyboard.press('Enter');
    await this.page.locator('.tabs-container .tab.active', { hasText: base }).waitFor();
    await this.editor().locator('.view-lines').waitFor();
  }

  /**
   * In VS Code's own file dialog (a quick input in the browser), choose `file` with the button
   * `okLabel`. The dialog lists the folder after it opens and may rewrite the path while it does
   * (slowly on a busy machine): type the path, wait until it has stayed, press the button, and
   * again if the dialog is still open ("Please select a file."), until it closes.
   */
  async chooseInFileDialog(file: string, okLabel: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const input = widget.locator('input');
    await input.waitFor();
    const deadline = Date.now() + TIMEOUT * 2;
    while (Date.now() < deadline) {
      if ((await input.inputValue()) !== file) await input.fill(file);
      await this.page.waitForTimeout(500);
      if ((await input.inputValue()) !== file) continue;
      await widget.locator('.monaco-button', { hasText: okLabel }).click();
      const closed = await widget.waitFor({ state: 'hidden', timeout: 3000 }).then(() => true, () => false);
      if (closed) return;
    }
    throw new Error(`the file dialog did not take ${file}; it shows "${await input.inputValue()}"`);
  }

  /** The active text editor. */
  editor(): Locator {
    return this.page.locator('.editor-group-container.active .monaco-editor[data-uri]').first();
  }

  /** Text of the editor's rendered lines (what is on screen), spaces normalized. */
  async editorText(): Promise<string> {
    const lines = await this.editor().locator('.view-lines .view-line').evaluateAll((els) =>
      els
        .map((e) => ({ top: parseFloat((e as HTMLElement).style.top) || 0, text: (e.textContent ?? '').replace(/\u00a0/g, ' ') }))
        .sort((a, b) => a.top - b.top)
        .map((l) => l.text),
    );
    return lines.join('\n');
  }

  /** Click into the editor's text so keys go there (focus is not given by opening a file in the browser). */
  async clickEditor(): Promise<void> {
    await this.editor().locator('.view-lines').click({ position: { x: 5, y: 5 } });
    await this.editor().locator('textarea.inputarea, .native-edit-context').first().waitFor({ state: 'attached' });
  }

  /** Put the cursor at a 1-based line and column with Go to Line (Ctrl+G). */
  async goTo(line: number, column = 1): Promise<void> {
    await this.clickEditor();
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    // Ctrl+G opens quick access with its ":" prefix (go to line); keep it
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
    await this.page.locator('.statusbar-item[id="status.editor.selection"]', { hasText: `Ln ${line}, Col ${column}` }).waitFor();
  }

  /**
   * Select the `occurrence`-th (0-based) occurrence of `text` in the workspace file open in the
   * editor, by keyboard: Go to Line to its start, then Shift+Right over it. Waits for the selection
   * to be drawn and the status bar to count it.
   */
  async selectText(text: string, opts: { file?: string; occurrence?: number } = {}): Promise<void> {
    const file = opts.file ?? (await this.activeFileRelPath());
    const content = fs.readFileSync(path.join(this.server.workspace, file), 'utf8');
    let at = -1;
    for (let i = 0; i <= (opts.occurrence ?? 0); i++) {
      at = content.indexOf(text, at + 1);
      if (at < 0) throw new Error(`"${text}" (occurrence ${opts.occurrence ?? 0}) is not in ${file}`);
    }
    const before = content.slice(0, at).split('\n');
    await this.goTo(before.length, before.at(-1)!.length + 1);
    await this.page.keyboard.down('Shift');
    try {
      for (let i = 0; i < text.length; i++) await this.page.keyboard.press('ArrowRight');
    } finally {
      await this.page.keyboard.up('Shift');
    }
    await this.editor().locator('.selected-text').first().waitFor();
    await this.page.locator('.statusbar-item[id="status.editor.selection"]', { hasText: `(${text.length} selected)` }).waitFor();
  }

  /** The status bar's cursor/selection item, e.g. "Ln 1, Col 20 (19 selected)". */
  async selectionStatus(): Promise<string> {
    return (await this.page.locator('.statusbar-item[id="status.editor.selection"]').innerText()).trim();
  }

  private async activeFileRelPath(): Promise<string> {
    const uri = await this.editor().getAttribute('data-uri');
    if (!uri) throw new Error('no active text editor');
    const p = decodeURIComponent(new URL(uri).pathname);
    return path.relative(this.server.workspace, p);
  }

  /** Open the command palette (F1) filtered by `title` and return the labels it lists. */
  async commandPaletteEntries(title: string): Promise<string[]> {
    await this.openPalette(title);
    const rows = this.page.locator('.quick-input-list .monaco-list-row');
    await rows.first().waitFor().catch(() => undefined);
    const labels = await rows.evaluateAll((els) => els.map((e) => (e.getAttribute('aria-label') ?? e.textContent ?? '').trim()));
    await this.page.keyboard.press('Escape');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    return labels;
  }

  /** Run a command by its palette title ("Inner World: Inspect Selection"): F1, type, wait for its row, Enter. */
  async runCommand(title: string): Promise<void> {
    await this.openPalette(title);
    const row = this.page.locator('.quick-input-list .monaco-list-row').filter({ has: this.page.locator('.label-name', { hasText: title }) }).first();
    await row.waitFor();
    // Enter runs the focused row: make sure it is ours
    await row.click();
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  }

  private async openPalette(filter: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    if (await widget.isVisible()) await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const input = widget.locator('input');
    await input.waitFor();
    // F1 opens with ">"; the command filter follows it
    await input.fill(`>${filter}`);
  }

  /**
   * The document inside a visible webview (VS Code nests it in two iframes, drawn over the editor
   * area, not inside the editor group). `extension` ("publisher.name", default any) picks the
   * webviews of one extension; the last visible one wins, as it is the one opened last.
   */
  webview(opts: { extension?: string } = {}): FrameLocator {
    const sel = opts.extension ? `iframe.webview.ready[src*="extensionId=${opts.extension}&"]` : 'iframe.webview.ready';
    return this.page.locator(sel).filter({ visible: true }).last().contentFrame().frameLocator('#active-frame');
  }

  /** Wait for a webview editor tab titled `title` to be open. */
  async waitForPanel(title: string | RegExp): Promise<void> {
    await this.page.locator('.tabs-container .tab', { hasText: title }).first().waitFor();
    await this.page.locator('iframe.webview.ready').first().waitFor({ state: 'attached' });
  }

  /** Screen box of the `occurrence`-th appearance of `text` in the editor's rendered lines. */
  async textBox(text: string, occurrence = 0): Promise<{ x: number; y: number; width: number; height: number }> {
    const box = await this.editor()
      .locator('.view-lines')
      .evaluate(
        (root, [needle, nth]) => {
          let seen = 0;
          for (const line of Array.from(root.querySelectorAll('.view-line'))) {
            const full = (line.textContent ?? '').replace(/\u00a0/g, ' ');
            let idx = full.indexOf(needle);
            while (idx >= 0 && seen < nth) {
              seen++;
              idx = full.indexOf(needle, idx + 1);
            }
            if (idx < 0) continue;
            // map the character range onto the line's text nodes
            const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
            const range = document.createRange();
            let pos = 0;
            let startSet = false;
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
              const len = n.textContent!.length;
              if (!startSet && idx < pos + len) {
                range.setStart(n, idx - pos);
                startSet = true;
              }
              if (startSet && idx + needle.length <= pos + len) {
                range.setEnd(n, idx + needle.length - pos);
                const r = range.getBoundingClientRect();
                return { x: r.x, y: r.y, width: r.width, height: r.height };
              }
              pos += len;
            }
          }
          return null;
        },
        [text, occurrence] as const,
      );
    if (!box) throw new Error(`"${text}" (occurrence ${occurrence}) is not on screen in the editor`);
    return box;
  }

  /**
   * Hover the middle of `text` in the editor (two mouse moves, as a person would arrive) and
   * return the hover's text once it shows and has settled (hovers fill in asynchronously).
   */
  async hover(text: string, opts: { occurrence?: number; contains?: string | RegExp; timeout?: number } = {}): Promise<string> {
    // A language server that is still starting answers the first hover with nothing (or "Loading"),
    // and the widget then stays closed until the mouse moves again: leave and come back until the
    // wanted hover shows, up to the deadline, as a person would.
    const deadline = Date.now() + (opts.timeout ?? 3 * TIMEOUT);
    const hover = this.page.locator('.monaco-hover:not(.hidden)').filter({ hasText: opts.contains ?? /\S/ }).first();
    for (;;) {
      const box = await this.textBox(text, opts.occurrence ?? 0);
      const x = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      await this.page.mouse.move(x - 40, y + 60);
      await this.page.mouse.move(x, y, { steps: 5 });
      const left = deadline - Date.now();
      try {
        await hover.waitFor({ timeout: Math.max(1000, Math.min(8000, left)) });
        break;
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await this.page.keyboard.press('Escape');
      }
    }
    let last = '';
    for (let i = 0; i < 20; i++) {
      const now = await hover.innerText();
      if (now === last && !/Loading/.test(now)) return now;
      last = now;
      await this.page.waitForTimeout(150);
    }
    return last;
  }

  /** Notifications now showing as toasts (the bottom-right popups). */
  async notifications(where: '.notifications-toasts' | '.notifications-center' = '.notifications-toasts'): Promise<Notification[]> {
    return this.page.locator(`${where} .notification-list-item`).evaluateAll((els) =>
      els.map((e) => {
        const icon = e.querySelector('.notification-list-item-icon')?.className ?? '';
        return {
          message: (e.querySelector('.notification-list-item-message')?.textContent ?? '').trim(),
          // "Source: LLM Inner World" -> "LLM Inner World"
          source: (e.querySelector('.notification-list-item-source')?.textContent ?? '').trim().replace(/^[^:]*:\s*/, ''),
          severity: /error/.test(icon) ? 'error' : /warning/.test(icon) ? 'warning' : 'info',
        } as const;
      }),
    );
  }

  /**
   * Wait for a toast whose message matches, and return it. VS Code hides a toast by itself after
   * 15 to 20 s while the window has focus; one missed that way is read from the notification
   * center, which keeps every notification until it is cleared.
   */
  async waitForNotification(match: string | RegExp, timeout = TIMEOUT): Promise<Notification> {
    const item = (where: string) => this.page.locator(`${where} .notification-list-item`, { has: this.page.locator('.notification-list-item-message', { hasText: match }) }).first();
    let where: '.notifications-toasts' | '.notifications-center' = '.notifications-toasts';
    try {
      await item(where).waitFor({ timeout });
    } catch (e) {
      where = '.notifications-center';
      await this.runCommand('Notifications: Show Notifications');
      await item(where).waitFor({ timeout: TIMEOUT }).catch(() => {
        throw e;
      });
    }
    const all = await this.notifications(where);
    if (where === '.notifications-center') await this.runCommand('Notifications: Hide Notifications');
    const found = all.find((n) => (typeof match === 'string' ? n.message.includes(match) : match.test(n.message)));
    if (!found) throw new Error(`notification ${match} disappeared before it could be read`);
    return found;
  }

  /** Close every toast (Escape on a toast dismisses it only when it has focus; the command does it all). */
  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications');
  }

  /** Save a full-page screenshot as test-results/e2e/<name>/<nn>-<label>.png and return its path. */
  async screenshot(label: string): Promise<string> {
    const file = path.join(this.resultsDir, `${String(++this.shots).padStart(2, '0')}-${label.replace(/[^\w.-]+/g, '_').slice(0, 80)}.png`);
    await this.page.screenshot({ path: file, timeout: TIMEOUT });
    return file;
  }

  /**
   * Console errors other than the ones a fresh offline workbench prints by itself and `expected`
   * (the workbench also logs every error notification, e.g. one a test provoked on purpose).
   */
  unexpectedConsoleErrors(expected: RegExp[] = []): string[] {
    return this.consoleErrors.filter((e) => ![...EXPECTED_CONSOLE_ERRORS, ...expected].some((re) => re.test(e)));
  }

  /** Screenshot, logs, then browser and code-server down, folders removed. Never throws. */
  async close(): Promise<void> {
    await this.screenshot('final').catch(() => undefined);
    fs.writeFileSync(path.join(this.resultsDir, 'console-errors.txt'), this.consoleErrors.join('\n') + '\n');
    fs.writeFileSync(path.join(this.resultsDir, 'timings.json'), JSON.stringify(this.timings) + '\n');
    this.server.saveLogs(path.join(this.resultsDir, 'logs'));
    await this.context.close().catch(() => undefined);
    await this.server.stop().catch(() => undefined);
    fs.rmSync(this.profileDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * One workbench for the tests of a describe block: started in before(), closed in after() (also
 * when a test fails), a screenshot after every test. Returns a getter.
 */
export function useWorkbench(opts: WorkbenchOptions): () => Workbench {
  let wb: Workbench | undefined;
  fs.rmSync(path.join(RESULTS_DIR, opts.name), { recursive: true, force: true });
  before(async () => {
    wb = await Workbench.start(opts);
  }, { timeout: 300_000 });
  afterEach(async (t) => {
    await wb?.screenshot(`after-${(t as { name?: string }).name ?? 'test'}`).catch(() => undefined);
  });
  after(async () => {
    await wb?.close();
  }, { timeout: 60_000 });
  return () => {
    if (!wb) throw new Error('the workbench did not start (see the before hook\'s error)');
    return wb;
  };
}
