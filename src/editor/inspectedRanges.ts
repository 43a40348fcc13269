// Inspected ranges of open documents: where each token lies in the editor, so that hovers find a
// token, the editor underlines token boundaries, and views follow the cursor. An edit inside a
// range makes its inspection stale at once (views say so; hovers stop answering from it); the
// range follows edits so that "re-inspect" reads the edited text.
import * as vscode from 'vscode';
import type { InspectionSummary } from '../engine/worker/protocol';

export interface EditorInspection {
  readonly summary: InspectionSummary;
  readonly uri: vscode.Uri;
  /** document offset of the inspected text's first character */
  baseOffset: number;
  readonly text: string;
  /** length of the range now (it follows edits) */
  length: number;
  stale: boolean;
}

export class InspectedRanges implements vscode.Disposable {
  private readonly byDoc = new Map<string, EditorInspection[]>();
  private readonly even: vscode.TextEditorDecorationType;
  private readonly odd: vscode.TextEditorDecorationType;
  /** surprisal overlay: one decoration per band of -ln p (nats) */
  private readonly bands = SURPRISAL_BANDS.map((b) => vscode.window.createTextEditorDecorationType({ backgroundColor: `rgba(255, 110, 0, ${b.alpha})`, borderRadius: '2px' }));
  private overlay = false;
  private readonly subs: vscode.Disposable[] = [];
  private readonly staled = new vscode.EventEmitter<EditorInspection>();
  /** an inspection's text was edited */
  readonly onDidGoStale = this.staled.event;

  constructor() {
    const style = (color: string): vscode.TextEditorDecorationType =>
      vscode.window.createTextEditorDecorationType({ borderWidth: '0 0 2px 0', borderStyle: 'solid', borderColor: new vscode.ThemeColor(color) });
    this.even = style('charts.blue');
    this.odd = style('charts.purple');
    this.subs.push(
      this.staled,
      vscode.workspace.onDidChangeTextDocument((e) => this.follow(e)),
      vscode.window.onDidChangeVisibleTextEditors((eds) => eds.forEach((ed) => this.decorate(ed))),
      vscode.workspace.onDidCloseTextDocument((d) => this.byDoc.delete(d.uri.toString())),
    );
  }

  add(i: Omit<EditorInspection, 'length' | 'stale'>): EditorInspection {
    const full: EditorInspection = { ...i, length: i.text.length, stale: false };
    const key = i.uri.toString();
    const list = (this.byDoc.get(key) ?? []).filter((o) => !overlaps(o, full));
    list.push(full);
    this.byDoc.set(key, list);
    this.redecorate(key);
    return full;
  }

  /** The live (not stale) inspection and token under a document offset. */
  tokenAt(doc: vscode.TextDocument, offset: number): { inspection: EditorInspection; pos: number } | undefined {
    for (const i of this.byDoc.get(doc.uri.toString()) ?? []) {
      if (i.stale) continue;
      const rel = offset - i.baseOffset;
      if (rel < 0 || rel > i.text.length) continue;
      const pos = i.summary.tokens.findIndex((t) => t.start <= rel && rel < t.end);
      if (pos >= 0) return { inspection: i, pos };
    }
    return undefined;
  }

  rangeOf(doc: vscode.TextDocument, i: EditorInspection, pos: number): vscode.Range {
    const t = i.summary.tokens[pos]!;
    return new vscode.Range(doc.positionAt(i.baseOffset + t.start), doc.positionAt(i.baseOffset + t.end));
  }

  /** The whole range as it stands now (after edits). */
  currentRange(doc: vscode.TextDocument, i: EditorInspection): vscode.Range {
    return new vscode.Range(doc.positionAt(i.baseOffset), doc.positionAt(i.baseOffset + i.length));
  }

  find(inspectionId: number): EditorInspection | undefined {
    for (const list of this.byDoc.values()) for (const i of list) if (i.summary.id === inspectionId) return i;
    return undefined;
  }

  /** Shade each inspected token by how surprising it was to the model (off by default). */
  setOverlay(on: boolean): void {
    this.overlay = on;
    vscode.window.visibleTextEditors.forEach((e) => this.decorate(e));
  }

  get overlayOn(): boolean {
    return this.overlay;
  }

  clear(): void {
    this.byDoc.clear();
    vscode.window.visibleTextEditors.forEach((e) => this.decorate(e));
  }

  /** Shift ranges after an edit before them; an edit that touches a range makes it stale and resizes it. */
  private follow(e: vscode.TextDocumentChangeEvent): void {
    const key = e.document.uri.toString();
    const list = this.byDoc.get(key);
    if (!list || e.contentChanges.length === 0) return;
    const nowStale: EditorInspection[] = [];
    for (const c of e.contentChanges) {
      const delta = c.text.length - c.rangeLength;
      const start = c.rangeOffset;
      const end = c.rangeOffset + c.rangeLength;
      for (const i of list) {
        const iEnd = i.baseOffset + i.length;
        if (end <= i.baseOffset) {
          i.baseOffset += delta; // before the range (an insertion at its start included)
        } else if (start < iEnd) {
          if (start < i.baseOffset) i.baseOffset = start;
          i.length = Math.max(0, i.length + delta);
          if (!i.stale) nowStale.push(i);
          i.stale = true;
        }
      }
    }
    this.redecorate(key);
    for (const i of nowStale) this.staled.fire(i);
  }

  private redecorate(key: string): void {
    vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === key).forEach((e) => this.decorate(e));
  }

  private decorate(editor: vscode.TextEditor): void {
    const even: vscode.Range[] = [];
    const odd: vscode.Range[] = [];
    for (const i of this.byDoc.get(editor.document.uri.toString()) ?? []) {
      if (i.stale) continue;
      i.summary.tokens.forEach((t, pos) => {
        if (t.end > t.start) (pos % 2 ? odd : even).push(this.rangeOf(editor.document, i, pos));
      });
    }
    editor.setDecorations(this.even, even);
    editor.setDecorations(this.odd, odd);
    const banded: vscode.Range[][] = this.bands.map(() => []);
    if (this.overlay) {
      for (const i of this.byDoc.get(editor.document.uri.toString()) ?? []) {
        if (i.stale) continue;
        i.summary.tokens.forEach((t, pos) => {
          const s = i.summary.surprise[pos]?.surprisal;
          if (s === undefined || t.end <= t.start) return;
          const band = SURPRISAL_BANDS.findIndex((b) => s < b.below);
          banded[band < 0 ? SURPRISAL_BANDS.length - 1 : band]!.push(this.rangeOf(editor.document, i, pos));
        });
      }
    }
    this.bands.forEach((d, k) => editor.setDecorations(d, banded[k]!));
  }

  dispose(): void {
    this.even.dispose();
    this.odd.dispose();
    this.bands.forEach((d) => d.dispose());
    this.subs.forEach((s) => s.dispose());
  }
}

/** Bands of surprisal (nats) and how strongly each is shaded: 1 nat is a likely token, 8 a rare one. */
const SURPRISAL_BANDS = [
  { below: 1, alpha: 0 },
  { below: 2.5, alpha: 0.12 },
  { below: 4, alpha: 0.24 },
  { below: 6, alpha: 0.38 },
  { below: 8, alpha: 0.52 },
  { below: Infinity, alpha: 0.66 },
];

function overlaps(a: EditorInspection, b: EditorInspection): boolean {
  return a.baseOffset < b.baseOffset + b.length && b.baseOffset < a.baseOffset + a.length;
}
