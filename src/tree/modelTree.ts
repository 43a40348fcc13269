// The "Model" view in the side bar: the loaded model (name, architecture, size, backend), its
// dictionaries, its layers with their matrices (shape and type; a click opens the heatmap) and its
// heads (a click opens the head's word map). Empty when no model is loaded: the view's welcome
// text offers "Load a Model".
import * as vscode from 'vscode';
import type { TensorRow } from '../engine/analysis/anatomy';
import type { ModelInfo } from '../engine/llama/session';
import type { EngineClient } from '../engine/worker/engineClient';
import type { ModelController } from '../model/modelController';

type Node =
  | { kind: 'model'; info: ModelInfo }
  | { kind: 'group'; label: 'Dictionaries' | 'Layers' | 'Heads' }
  | { kind: 'dictionary'; name: 'input' | 'output' | 'middle' }
  | { kind: 'layer'; layer: number; of: 'Layers' | 'Heads' }
  | { kind: 'tensor'; row: TensorRow }
  | { kind: 'head'; layer: number; head: number };

// the matrices the heatmap opens (a mixture of experts' W_gate / W_in / W_out open at expert 0, with a picker)
const MATRIX = new Set(['W_Q', 'W_K', 'W_V', 'W_O', 'W_gate_inp', 'W_gate', 'W_in', 'W_out']);

export class ModelTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subs: vscode.Disposable[] = [];
  private tensors: Promise<TensorRow[]> | undefined;

  constructor(
    private readonly model: ModelController,
    private readonly engine: EngineClient,
  ) {
    this.subs.push(
      this.changed,
      model.onDidChange(() => {
        this.tensors = undefined;
        this.changed.fire(undefined);
      }),
    );
  }

  getChildren(n?: Node): vscode.ProviderResult<Node[]> {
    const info = this.model.info;
    if (!info) return [];
    if (!n) return [{ kind: 'model', info }];
    switch (n.kind) {
      case 'model':
        return [{ kind: 'group', label: 'Dictionaries' }, { kind: 'group', label: 'Layers' }, { kind: 'group', label: 'Heads' }];
      case 'group':
        if (n.label === 'Dictionaries') return (['input', 'output', 'middle'] as const).map((name) => ({ kind: 'dictionary', name }));
        return Array.from({ length: info.nLayers }, (_, layer) => ({ kind: 'layer', layer, of: n.label as 'Layers' | 'Heads' }));
      case 'layer':
        if (n.of === 'Heads') return Array.from({ length: info.nHeads }, (_, head) => ({ kind: 'head', layer: n.layer, head }));
        return this.tensorRows().then((rows) => rows.filter((r) => r.layer === n.layer).map((row) => ({ kind: 'tensor', row })));
      default:
        return [];
    }
  }

  getTreeItem(n: Node): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    switch (n.kind) {
      case 'model': {
        const i = n.info;
        const item = new vscode.TreeItem(i.name, C.Expanded);
        item.description = `${i.arch} · ${(i.fileBytes / 1e9).toFixed(2)} GB · ${i.backend}`;
        item.tooltip = `${i.path}\n${i.nLayers} layers, d_model ${i.dModel}, ${i.nHeads} heads (${i.nKvHeads} kv), vocabulary ${i.nVocab}`;
        item.iconPath = new vscode.ThemeIcon('telescope');
        item.id = 'model';
        return item;
      }
      case 'group': {
        const item = new vscode.TreeItem(n.label, n.label === 'Dictionaries' ? C.Expanded : C.Collapsed);
        item.id = `group:${n.label}`;
        return item;
      }
      case 'dictionary': {
        const item = new vscode.TreeItem(`${n.name[0]!.toUpperCase()}${n.name.slice(1)} dictionary`, C.None);
        item.description = n.name === 'input' ? 'W_E' : n.name === 'output' ? 'W_U' : 'built from layer-2 states';
        item.command = n.name === 'middle' ? { command: 'innerWorld.showNeighbours', title: 'Nearest Words' } : { command: 'innerWorld.showDictStats', title: 'Dictionary Statistics' };
        item.iconPath = new vscode.ThemeIcon('book');
        return item;
      }
      case 'layer': {
        const item = new vscode.TreeItem(`Layer ${n.layer}`, C.Collapsed);
        item.id = `${n.of}:${n.layer}`;
        return item;
      }
      case 'tensor': {
        const r = n.row;
        const item = new vscode.TreeItem(r.role, C.None);
        item.description = `${r.shape.join(' × ')} · ${r.type}`;
        item.tooltip = r.name;
        if (MATRIX.has(r.role) && r.layer !== null) {
          item.command = { command: 'innerWorld.openHeatmap', title: 'Weight Heatmap', arguments: [r.role, r.layer] };
          item.iconPath = new vscode.ThemeIcon('symbol-array');
        }
        return item;
      }
      case 'head': {
        const item = new vscode.TreeItem(`L${n.layer}H${n.head}`, C.None);
        item.command = { command: 'innerWorld.openHeadMap', title: 'Head Word Map', arguments: [n.layer, n.head] };
        item.iconPath = new vscode.ThemeIcon('eye');
        return item;
      }
    }
  }

  private tensorRows(): Promise<TensorRow[]> {
    return (this.tensors ??= this.engine.analysis('tensors', {}).catch((e: unknown) => {
      this.tensors = undefined;
      throw e;
    }));
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
  }
}
