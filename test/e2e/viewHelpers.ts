// What the view suites share: the visible view whose header names it, screenshots kept for the
// README, and the CLI on the demo model as the independent reading of what a view shows.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { projectCacheDir } from '../../src/engine/assets';
import { demoModelPath } from '../../src/engine/demo/builder';
import { RESULTS_DIR, TIMEOUT, type Workbench } from './harness';

const ROOT = path.join(__dirname, '..', '..');
export const IMAGES = path.join(RESULTS_DIR, 'images');

/** The CLI's JSON for `command` on the demo model. */
export function demoCli<T>(command: string, ...args: string[]): T {
  return modelCli<T>(demoModelPath(projectCacheDir()), command, ...args);
}

/** The CLI's JSON for `command` on the model file `model`. */
export function modelCli<T>(model: string, command: string, ...args: string[]): T {
  const out = execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), command, model, ...args], { encoding: 'utf8', env: { ...process.env, INNER_WORLD_CACHE: projectCacheDir() }, maxBuffer: 64 << 20 });
  return JSON.parse(out) as T;
}

/** The visible view whose header names it (views are webviews in two nested iframes). */
export async function viewFrame(wb: Workbench, title: string, timeout = TIMEOUT * 2): Promise<FrameLocator> {
  const frames = wb.page.locator('iframe.webview.ready');
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const n = await frames.count();
    for (let i = 0; i < n; i++) {
      if (!(await frames.nth(i).isVisible().catch(() => false))) continue;
      const f = frames.nth(i).contentFrame().frameLocator('#active-frame');
      if ((await f.locator('header .view-title', { hasText: title }).count().catch(() => 0)) > 0) return f;
    }
    await wb.page.waitForTimeout(200);
  }
  throw new Error(`no visible view titled ${title}`);
}

/** A screenshot, also kept as test-results/e2e/images/<name>.png (the README's pictures come from there). */
export async function keepShot(wb: Workbench, name: string): Promise<void> {
  fs.mkdirSync(IMAGES, { recursive: true });
  fs.copyFileSync(await wb.screenshot(name), path.join(IMAGES, `${name}.png`));
}
