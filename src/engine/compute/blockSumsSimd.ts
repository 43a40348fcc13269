// SIMD kernels for the block sums of Q8_0, Q4_K and Q6_K (the bulk of a Q8_0 and of a Q4_K_M file), as
// WebAssembly built here from its binary encoding: the project ships no compiler, and V8 (Node,
// VS Code) runs WebAssembly SIMD natively. Each kernel walks a chunk of rows in groups of ROWS
// rows; for one strip of 16 elements of those rows it keeps the column sums Σx, Σx², Σ|x| in
// twelve f32x4 registers, then adds them into float64 column sums. The values are ggml's own
// float32 values (the f32 products and differences ggml's dequantization computes); each row's
// sums are added in float64 per strip. Only the per-block scales come from JavaScript
// (blockSumsWasm.ts): the f16 decoding, Q4_K's packed 6-bit scales, Q6_K's signed ones.

/** rows per group: a column's float32 partial sum covers at most this many elements */
export const ROWS = 16;

// --- a minimal WebAssembly encoder: only what the kernels use ---

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const I32 = 0x7f;
const V128 = 0x7b;

/** Emits one function body; locals are numbered after the parameters. */
class Body {
  readonly code: number[] = [];
  private readonly locals: number[] = [];
  constructor(private readonly nParams: number) {}

  local(type: number): number {
    this.locals.push(type);
    return this.nParams + this.locals.length - 1;
  }
  get(i: number): this {
    this.code.push(0x20, ...uleb(i));
    return this;
  }
  set(i: number): this {
    this.code.push(0x21, ...uleb(i));
    return this;
  }
  i32(v: number): this {
    this.code.push(0x41, ...sleb(v));
    return this;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  simd(op: number, ...imm: number[]): this {
    this.code.push(0xfd, ...uleb(op), ...imm);
    return this;
  }
  /** memory access immediates: alignment (log2) and offset */
  static mem(align: number, offset = 0): number[] {
    return [align, ...uleb(offset)];
  }
  /** for (v = from; v < limit; v += step) body, with from/limit/step pushed by the callbacks */
  loop(v: number, from: () => void, limit: () => void, step: () => void, body: () => void): this {
    from();
    this.set(v);
    this.op(0x02, 0x40, 0x03, 0x40); // block, loop
    this.get(v);
    limit();
    this.op(0x4f, 0x0d, 1); // i32.ge_u, br_if to the block's end
    body();
    this.get(v);
    step();
    this.op(0x6a).set(v).op(0x0c, 0, 0x0b, 0x0b); // i32.add, br to the loop, end, end
    return this;
  }
  encode(): number[] {
    const groups: number[] = [];
    for (const t of this.locals) groups.push(...uleb(1), t);
    const body = [...uleb(this.locals.length), ...groups, ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

// SIMD opcodes (WebAssembly SIMD binary encoding)
const S = {
  load: 0x00,
  load8x8u: 0x02,
  load32splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  and: 0x4e,
  i16x8ExtLowS: 0x87,
  i16x8ExtHighS: 0x88,
  i16x8ShrU: 0x8d,
  i16x8Shl: 0x8b,
  i16x8Sub: 0x91,
  or: 0x50,
  i32x4ExtLowS: 0xa7,
  i32x4ExtHighS: 0xa8,
  i32x4ExtLowU: 0xa9,
  i32x4ExtHighU: 0xaa,
  f32x4Abs: 0xe0,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4ConvertS: 0xfa,
  f64x2Add: 0xf0,
  f64x2PromoteLow: 0x5f,
} as const;

/** lanes 2, 3 of a f32x4 moved to lanes 0, 1 (shuffle immediates) */
const HIGH_PAIR = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * Parameters of every kernel, in order. The strip table holds, per strip of a row, five i32: its
 * byte offset in the row, the index of its (first) scale in the row's scales, its first column,
 * and two that only some formats use (Q6_K: the byte offset of its high bits, its nibble shift).
 */
export const STRIP_FIELDS = 5;
const STRIP_BYTES = 4 * STRIP_FIELDS;
const PARAMS = ['src', 'count', 'nStrips', 'rowBytes', 'scalesA', 'scalesB', 'nScales', 'strips', 'colOut', 'colStride', 'rowOut'] as const;
type Param = (typeof PARAMS)[number];

interface KernelSpec {
  name: string;
  /** column offsets of the four f32x4 values a strip yields, from the strip's first column */
  colOffsets: readonly [number, number, number, number];
  /** pushes nothing; sets the locals x[0..3] from the strip at local p (its table entry at local t), scales at local si */
  produce(b: Body, p: number, si: number, x: readonly number[], param: (n: Param) => number, t: number): void;
}

function kernel(spec: KernelSpec): number[] {
  const b = new Body(PARAMS.length);
  const P = (n: Param) => PARAMS.indexOf(n);
  const g0 = b.local(I32), gEnd = b.local(I32), s = b.local(I32), r = b.local(I32), t = b.local(I32), p = b.local(I32), si = b.local(I32), rp = b.local(I32), cp = b.local(I32);
  const x = [0, 1, 2, 3].map(() => b.local(V128));
  const sq = [0, 1, 2, 3].map(() => b.local(V128));
  const ab = [0, 1, 2, 3].map(() => b.local(V128));
  const acc = [0, 1, 2].map(() => [0, 1, 2, 3].map(() => b.local(V128))); // [stat][k]
  const v = b.local(V128);
  const zero = () => b.simd(S.const, ...new Array(16).fill(0));
  const perStat = [x, sq, ab];
  b.loop(
    g0,
    () => b.i32(0),
    () => b.get(P('count')),
    () => b.i32(ROWS),
    () => {
      // gEnd = min(g0 + ROWS, count)
      b.get(g0).i32(ROWS).op(0x6a).get(P('count')).get(g0).i32(ROWS).op(0x6a).get(P('count')).op(0x49, 0x1b).set(gEnd);
      b.loop(
        s,
        () => b.i32(0),
        () => b.get(P('nStrips')),
        () => b.i32(1),
        () => {
          b.get(s).i32(STRIP_BYTES).op(0x6c).get(P('strips')).op(0x6a).set(t);
          for (const row of acc) for (const a of row) zero().set(a);
          b.loop(
            r,
            () => b.get(g0),
            () => b.get(gEnd),
            () => b.i32(1),
            () => {
              // p = src + r * rowBytes + strip byte offset; si = (r * nScales + strip scale) * 4
              b.get(P('src')).get(r).get(P('rowBytes')).op(0x6c, 0x6a).get(t).op(0x28, ...Body.mem(2, 0), 0x6a).set(p);
              b.get(r).get(P('nScales')).op(0x6c).get(t).op(0x28, ...Body.mem(2, 4), 0x6a).i32(2).op(0x74).set(si);
              spec.produce(b, p, si, x, P, t);
              for (let k = 0; k < 4; k++) {
                b.get(x[k]!).get(x[k]!).simd(S.f32x4Mul).set(sq[k]!);
                b.get(x[k]!).simd(S.f32x4Abs).set(ab[k]!);
                for (let st = 0; st < 3; st++) b.get(acc[st]![k]!).get(perStat[st]![k]!).simd(S.f32x4Add).set(acc[st]![k]!);
              }
              // this row's sums over the strip, into its float64 pairs at rowOut + r * 48 + 16 * stat
              b.get(r).i32(48).op(0x6c).get(P('rowOut')).op(0x6a).set(rp);
              for (let st = 0; st < 3; st++) {
                const y = perStat[st]!;
                b.get(y[0]!).get(y[1]!).simd(S.f32x4Add).get(y[2]!).get(y[3]!).simd(S.f32x4Add).simd(S.f32x4Add).set(v);
                b.get(v).get(v).simd(S.shuffle, ...HIGH_PAIR).get(v).simd(S.f32x4Add).set(v);
                b.get(rp).get(rp).simd(S.load, ...Body.mem(3, 16 * st)).get(v).simd(S.f64x2PromoteLow).simd(S.f64x2Add).simd(S.store, ...Body.mem(3, 16 * st));
              }
            },
          );
          // fold the group's float32 column sums into the float64 ones: colOut + stat * colStride + col * 8
          b.get(t).op(0x28, ...Body.mem(2, 8)).i32(3).op(0x74).get(P('colOut')).op(0x6a).set(cp);
          for (let st = 0; st < 3; st++) {
            for (let k = 0; k < 4; k++) {
              const off = spec.colOffsets[k]! * 8;
              const a = acc[st]![k]!;
              // lanes 0, 1 then lanes 2, 3
              b.get(cp).get(cp).simd(S.load, ...Body.mem(3, off)).get(a).simd(S.f64x2PromoteLow).simd(S.f64x2Add).simd(S.store, ...Body.mem(3, off));
              b.get(cp).get(cp).simd(S.load, ...Body.mem(3, off + 16)).get(a).get(a).simd(S.shuffle, ...HIGH_PAIR).simd(S.f64x2PromoteLow).simd(S.f64x2Add).simd(S.store, ...Body.mem(3, off + 16));
            }
            if (st < 2) b.get(cp).get(P('colStride')).op(0x6a).set(cp);
          }
        },
      );
    },
  );
  return b.encode();
}

/** Q8_0 strip: 16 int8 quants of one block, one scale d: x = d·q. */
const Q8_0_KERNEL: KernelSpec = {
  name: 'q8_0',
  colOffsets: [0, 4, 8, 12],
  produce(b, p, si, x, P) {
    const w = b.local(V128), lo = b.local(V128), hi = b.local(V128), d = b.local(V128);
    b.get(p).simd(S.load, ...Body.mem(0)).set(w);
    b.get(w).simd(S.i16x8ExtLowS).set(lo);
    b.get(w).simd(S.i16x8ExtHighS).set(hi);
    b.get(P('scalesA')).get(si).op(0x6a).simd(S.load32splat, ...Body.mem(2)).set(d);
    const halves = [lo, lo, hi, hi];
    for (let k = 0; k < 4; k++) {
      b.get(halves[k]!).simd(k % 2 ? S.i32x4ExtHighS : S.i32x4ExtLowS).simd(S.f32x4ConvertS).get(d).simd(S.f32x4Mul).set(x[k]!);
    }
  },
};

/**
 * Q4_K strip: 8 bytes of one 32-byte group: low nibbles are 8 elements of sub-block 2g, high
 * nibbles the same 8 positions of sub-block 2g + 1 (32 columns on): x = a·q − b per sub-block.
 */
const Q4_K_KERNEL: KernelSpec = {
  name: 'q4_k',
  colOffsets: [0, 4, 32, 36],
  produce(b, p, si, x, P) {
    const w = b.local(V128), lo = b.local(V128), hi = b.local(V128);
    const aL = b.local(V128), aH = b.local(V128), bL = b.local(V128), bH = b.local(V128);
    b.get(p).simd(S.load8x8u, ...Body.mem(0)).set(w);
    b.get(w).simd(S.const, ...[15, 0, 15, 0, 15, 0, 15, 0, 15, 0, 15, 0, 15, 0, 15, 0]).simd(S.and).set(lo);
    b.get(w).i32(4).simd(S.i16x8ShrU).set(hi);
    b.get(P('scalesA')).get(si).op(0x6a).simd(S.load32splat, ...Body.mem(2, 0)).set(aL);
    b.get(P('scalesA')).get(si).op(0x6a).simd(S.load32splat, ...Body.mem(2, 4)).set(aH);
    b.get(P('scalesB')).get(si).op(0x6a).simd(S.load32splat, ...Body.mem(2, 0)).set(bL);
    b.get(P('scalesB')).get(si).op(0x6a).simd(S.load32splat, ...Body.mem(2, 4)).set(bH);
    const src = [lo, lo, hi, hi];
    const as = [aL, aL, aH, aH];
    const bs = [bL, bL, bH, bH];
    for (let k = 0; k < 4; k++) {
      // values 0..15: the signed conversions are exact and the fastest on x86
      b.get(src[k]!).simd(k % 2 ? S.i32x4ExtHighU : S.i32x4ExtLowU).simd(S.f32x4ConvertS).get(as[k]!).simd(S.f32x4Mul).get(bs[k]!).simd(S.f32x4Sub).set(x[k]!);
    }
  },
};

/**
 * Q6_K strip: 8 positions l..l+7 of one 16-element half of a 32-wide quarter pair: quarters 0 and
 * 1 (shift 0) or 2 and 3 (shift 4) of a 128-element half-block, q = low bits | high bits << 4,
 * minus 32, x = (d·sc)·q with the quarter's signed scale (the second quarter's two scales on).
 */
const Q6_K_KERNEL: KernelSpec = {
  name: 'q6_k',
  colOffsets: [0, 4, 32, 36],
  produce(b, p, si, x, P, t) {
    const wl0 = b.local(V128), wl1 = b.local(V128), wh = b.local(V128), qa = b.local(V128), qb = b.local(V128);
    const sh = b.local(I32);
    const dA = b.local(V128), dB = b.local(V128);
    const splat16 = (v: number) => b.simd(S.const, ...new Array(8).fill(0).flatMap(() => [v & 0xff, v >> 8]));
    b.get(t).op(0x28, ...Body.mem(2, 16)).set(sh);
    b.get(p).simd(S.load8x8u, ...Body.mem(0)).set(wl0);
    b.get(p).simd(S.load8x8u, ...Body.mem(0, 32)).set(wl1);
    // the high bits: the row's start is p − (byte offset), plus the table's qh offset
    b.get(p).get(t).op(0x28, ...Body.mem(2, 0)).op(0x6b).get(t).op(0x28, ...Body.mem(2, 12)).op(0x6a).simd(S.load8x8u, ...Body.mem(0)).set(wh);
    const quant = (w: number, hiShift: () => void, out: number) => {
      b.get(w).get(sh).simd(S.i16x8ShrU);
      splat16(15).simd(S.and);
      b.get(wh);
      hiShift();
      b.simd(S.i16x8ShrU);
      splat16(3).simd(S.and).i32(4).simd(S.i16x8Shl).simd(S.or);
      splat16(32).simd(S.i16x8Sub).set(out);
    };
    quant(wl0, () => b.get(sh), qa);
    quant(wl1, () => b.get(sh).i32(2).op(0x6a), qb);
    b.get(P('scalesA')).get(si).op(0x6a).simd(S.load32splat, ...Body.mem(2, 0)).set(dA);
    b.get(P('scalesA')).get(si).op(0x6a).simd(S.load32splat, ...Body.mem(2, 8)).set(dB);
    const src = [qa, qa, qb, qb];
    const ds = [dA, dA, dB, dB];
    for (let k = 0; k < 4; k++) {
      b.get(src[k]!).simd(k % 2 ? S.i32x4ExtHighS : S.i32x4ExtLowS).simd(S.f32x4ConvertS).get(ds[k]!).simd(S.f32x4Mul).set(x[k]!);
    }
  },
};

export const SIMD_KERNELS = [Q8_0_KERNEL, Q4_K_KERNEL, Q6_K_KERNEL] as const;
export type KernelName = (typeof SIMD_KERNELS)[number]['name'];

/** The module's bytes: one memory imported as env.memory, one exported function per kernel. */
export function simdModuleBytes(): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
  const funcType = [0x60, ...uleb(PARAMS.length), ...PARAMS.map(() => I32), 0];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, ...funcType]),
    ...section(2, [1, ...str('env'), ...str('memory'), 0x02, 0x00, 1]), // memory, min 1 page
    ...section(3, [...uleb(SIMD_KERNELS.length), ...SIMD_KERNELS.map(() => 0)]),
    ...section(7, [...uleb(SIMD_KERNELS.length), ...SIMD_KERNELS.flatMap((k, i) => [...str(k.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(SIMD_KERNELS.length), ...SIMD_KERNELS.flatMap((k) => kernel(k))]),
  ];
  return new Uint8Array(bytes);
}
