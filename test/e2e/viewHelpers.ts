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

/** What the Weight Heatmap's zoom shows after `zoomTwiceAndRead`: its window and the readout of one element. */
export interface ZoomReading {
  readonly row0: number;
  readonly col0: number;
  /** rows (and columns) in the zoomed window */
  readonly size: number;
  readonly row: number;
  readonly column: number;
  readonly head: number;
  readonly value: number;
}

/**
 * In a Weight Heatmap view: zoom in twice, move the keyboard cursor one row down and two columns
 * right, and read the zoom's title and readout (the element at row0 + 1, col0 + 2).
 */
export async function zoomTwiceAndRead(hm: FrameLocator, timeout: number): Promise<ZoomReading> {
  for (let k = 0; k < 2; k++) {
    const before = await hm.locator('#zoom-title').innerText();
    await hm.locator('#zoom-in').click();
    await hm.locator('#zoom-title', { hasText: /rows/ }).filter({ hasNotText: before }).waitFor({ timeout });
  }
  const title = await hm.locator('#zoom-title').innerText();
  const w = /rows (\d+)–(\d+), columns (\d+)–(\d+)/.exec(title);
  if (!w) throw new Error(`the zoom's title names no window: ${title}`);
  const canvas = hm.locator('#zoom');
  await canvas.focus();
  await canvas.press('ArrowDown');
  await canvas.press('ArrowRight');
  await canvas.press('ArrowRight');
  const readout = await hm.locator('#zoom-readout').innerText();
  const m = /row (\d+), column (\d+), head (\d+): \|w\| = ([\d.e-]+)/.exec(readout);
  if (!m) throw new Error(`the zoom's readout is not "row, column, head: |w|": ${readout}`);
  return { row0: Number(w[1]), col0: Number(w[3]), size: Number(w[2]) - Number(w[1]) + 1, row: Number(m[1]), column: Number(m[2]), head: Number(m[3]), value: Number(m[4]) };
}
