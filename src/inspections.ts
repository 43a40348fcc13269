// Inspected ranges of open documents: where each token lies in the editor, so that hovers can
// find a token and the editor can mark token boundaries. An inspection whose text was edited is dropped.
import * as vscode from 'vscode';
import type { InspectionSummary } from './engine/worker/protocol';

export interface EditorInspection {
  readonly summary: InspectionSummary;
  readonly uri: vscode.Uri;
  /** document offset of the inspected text's first character */
  readonly baseOffset: number;
  readonly text: string;
}

export class InspectionStore implements vscode.Disposable {
  private readonly byDoc = new Map<string, EditorInspection[]>();
  private readonly even: vscode.TextEditorDecorationType;
  private readonly odd: vscode.TextEditorDecorationType;
  private readonly subs: vscode.Disposable[] = [];

  constructor() {
    const style = (color: string): vscode.TextEditorDecorationType =>
      vscode.window.createTextEditorDecorationType({ borderWidth: '0 0 2px 0', borderStyle: 'solid', borderColor: new vscode.ThemeColor(color) });
    this.even = style('charts.blue');
    this.odd = style('charts.purple');
    this.subs.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.dropEdited(e.document)),
      vscode.window.onDidChangeVisibleTextEditors((eds) => eds.forEach((ed) => this.decorate(ed))),
      vscode.workspace.onDidCloseTextDocument((d) => this.byDoc.delete(d.uri.toString())),
    );
  }

  add(i: EditorInspection): void {
    const key = i.uri.toString();
    const list = (this.byDoc.get(key) ?? []).filter((o) => !overlaps(o, i));
    list.push(i);
    this.byDoc.set(key, list);
    vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === key).forEach((e) => this.decorate(e));
  }

  /** The inspection and token under a document offset. */
  tokenAt(doc: vscode.TextDocument, offset: number): { inspection: EditorInspection; pos: number } | undefined {
    for (const i of this.byDoc.get(doc.uri.toString()) ?? []) {
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

  find(inspectionId: number): EditorInspection | undefined {
    for (const list of this.byDoc.values()) for (const i of list) if (i.summary.id === inspectionId) return i;
    return undefined;
  }

  clear(): void {
    this.byDoc.clear();
    vscode.window.visibleTextEditors.forEach((e) => this.decorate(e));
  }

  private dropEdited(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    const list = this.byDoc.get(key);
    if (!list) return;
    const kept = list.filter((i) => i.baseOffset + i.text.length <= doc.getText().length && doc.getText(new vscode.Range(doc.positionAt(i.baseOffset), doc.positionAt(i.baseOffset + i.text.length))) === i.text);
    if (kept.length === list.length) return;
    this.byDoc.set(key, kept);
    vscode.window.visibleTextEditors.filter((e) => e.document === doc).forEach((e) => this.decorate(e));
  }

  private decorate(editor: vscode.TextEditor): void {
    const even: vscode.Range[] = [];
    const odd: vscode.Range[] = [];
    for (const i of this.byDoc.get(editor.document.uri.toString()) ?? []) {
      i.summary.tokens.forEach((t, pos) => {
        if (t.end > t.start) (pos % 2 ? odd : even).push(this.rangeOf(editor.document, i, pos));
      });
    }
    editor.setDecorations(this.even, even);
    editor.setDecorations(this.odd, odd);
  }

  dispose(): void {
    this.even.dispose();
    this.odd.dispose();
    this.subs.forEach((s) => s.dispose());
  }
}

function overlaps(a: EditorInspection, b: EditorInspection): boolean {
  return a.baseOffset < b.baseOffset + b.text.length && b.baseOffset < a.baseOffset + a.text.length;
}
