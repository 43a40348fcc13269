// SIMD kernels for the block sums of Q8_0, Q4_K and Q6_K (the bulk of a Q8_0 and of a Q4_K_M file), as
// WebAssembly built here from its binary encoding: the project ships no compiler, and V8 (Node,
// VS Code) runs WebAssembly SIMD natively. Each kernel walks a chunk of rows in groups of ROWS
// rows; for one strip of 16 elements of those rows it keeps the column sums Σx, Σx², Σ|x| in
// twelve f32x4 registers, then adds them into float64 column sums. The values are ggml's own
// float32 values (the f32 products and differences ggml's dequantization computes); each row's
// strip sums go into float32 partials that reach float64 every few strips. The module also holds
// scalar decoders for the per-block scales (the f16 values through ggml's table, Q4_K's packed
// 6-bit scales and mins, Q6_K's signed ones), which the kernels read as float32.

/** rows per group: a column's float32 partial sum covers at most this many elements */
export const ROWS = 32;

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
 * rowAcc is scratch for the group's float32 row partials (ROWS x 3 f32x4).
 */
export const STRIP_FIELDS = 5;
const STRIP_BYTES = 4 * STRIP_FIELDS;
const PARAMS = ['src', 'count', 'nStrips', 'rowBytes', 'scalesA', 'scalesB', 'nScales', 'strips', 'colOut', 'colStride', 'rowOut', 'rowAcc'] as const;
type Param = (typeof PARAMS)[number];

/** bytes of row scratch the kernels need (rowAcc) */
export const ROW_ACC_BYTES = ROWS * 48;

/**
 * Strips between two flushes of a row's float32 partials into its float64 sums: each lane of a
 * partial then holds FLUSH_STRIPS strips' sums of 4 values (a chain of about FLUSH_STRIPS + 2
 * float32 roundings, within the ROWS of a column's).
 */
const FLUSH_STRIPS = 16;

/** What a format's strip decoding sees: the locals of one row's strip. */
interface StripCtx {
  /** the strip's bytes in this row, and the format's second pointer (Q6_K: its high bits) */
  p: number;
  p2: number;
  /** this row's scales for the strip (A: the multipliers, B: the offsets), float32 */
  sa: number;
  sb: number;
  /** the table's fifth field for the strip (Q6_K: the nibble shift) */
  sh: number;
  /** the format's constants (KernelSpec.consts), held in locals: V8 rebuilds a v128.const at every use */
  consts: readonly number[];
}

interface KernelSpec {
  name: string;
  /** column offsets of the four f32x4 values a strip yields, from the strip's first column */
  colOffsets: readonly [number, number, number, number];
  /** the format's v128 constants, set once per call */
  consts: readonly (readonly number[])[];
  /** decodes the strip's quants into locals (once per row); returns value(k), which pushes x_k (f32x4, k = 0..3) */
  prepare(b: Body, c: StripCtx): (k: number) => void;
}

/**
 * Which steps a kernel does: 'all' (what ships); the others exist to time the parts
 * (bench/blockSumsKernel.ts): 'none' only what runs around the kernel (copying the rows in, decoding
 * the per-block scales), 'decode' forms every value and keeps only a running sum of them
 * (into the columns' Σx), 'cols' the column sums alone, 'rows' the row sums alone.
 */
export const KERNEL_PARTS = ['none', 'decode', 'cols', 'rows', 'all'] as const;
export type KernelParts = (typeof KERNEL_PARTS)[number];

/**
 * One kernel. For each group of ROWS rows and each strip (16 elements of a row), the rows are
 * walked with pointers that step by a row: the column sums of the strip stay in twelve f32x4
 * registers over the group and go to float64 once; each row's strip sums go into its three
 * float32 partials in rowAcc (one load and one store per statistic), which reach float64 every
 * FLUSH_STRIPS strips.
 */
function kernel(spec: KernelSpec, parts: KernelParts): number[] {
  const doCols = parts === 'cols' || parts === 'all';
  const doRows = parts === 'rows' || parts === 'all';
  const b = new Body(PARAMS.length);
  const PI = (n: Param) => PARAMS.indexOf(n);
  const P = (n: Param) => b.get(PI(n));
  const g0 = b.local(I32), gEnd = b.local(I32), s = b.local(I32), r = b.local(I32), t = b.local(I32);
  const gSrc = b.local(I32), gScale = b.local(I32), scaleStep = b.local(I32), ra = b.local(I32), cp = b.local(I32), o = b.local(I32);
  const consts = spec.consts.map((k) => {
    const l = b.local(V128);
    b.simd(S.const, ...k).set(l);
    return l;
  });
  const absMask = b.local(V128);
  b.simd(S.const, ...u32x4(0x7fffffff)).set(absMask);
  const c: StripCtx = { p: b.local(I32), p2: b.local(I32), sa: b.local(I32), sb: b.local(I32), sh: b.local(I32), consts };
  const acc = [0, 1, 2].map(() => [0, 1, 2, 3].map(() => b.local(V128))); // [stat][k]
  const xk = b.local(V128), y = b.local(V128), row = [0, 1, 2].map(() => b.local(V128)), v = b.local(V128);
  const zero = () => b.simd(S.const, ...new Array(16).fill(0));
  const load32 = (base: number, off: number) => b.get(base).op(0x28, ...Body.mem(2, off));
  P('nScales').i32(2).op(0x74).set(scaleStep);
  b.loop(
    g0,
    () => b.i32(0),
    () => P('count'),
    () => b.i32(ROWS),
    () => {
      // gEnd = min(g0 + ROWS, count); the group's first row and first scale
      b.get(g0).i32(ROWS).op(0x6a).set(gEnd);
      b.get(gEnd).get(PI('count')).get(gEnd).get(PI('count')).op(0x49, 0x1b).set(gEnd);
      P('src').get(g0).get(PI('rowBytes')).op(0x6c, 0x6a).set(gSrc);
      b.get(g0).get(scaleStep).op(0x6c).set(gScale);
      b.loop(
        s,
        () => b.i32(0),
        () => P('nStrips'),
        () => b.i32(1),
        () => {
          b.get(s).i32(STRIP_BYTES).op(0x6c).get(PI('strips')).op(0x6a).set(t);
          b.get(gSrc); load32(t, 0).op(0x6a).set(c.p);
          b.get(gSrc); load32(t, 12).op(0x6a).set(c.p2);
          load32(t, 4).i32(2).op(0x74).get(gScale).op(0x6a).set(c.sb);
          b.get(c.sb).get(PI('scalesA')).op(0x6a).set(c.sa);
          b.get(c.sb).get(PI('scalesB')).op(0x6a).set(c.sb);
          load32(t, 16).set(c.sh);
          P('rowAcc').set(ra);
          for (const a of acc.flat()) zero().set(a);
          b.loop(
            r,
            () => b.get(g0),
            () => b.get(gEnd),
            () => b.i32(1),
            () => {
              const value = spec.prepare(b, c);
              for (let k = 0; k < 4; k++) {
                value(k);
                b.set(xk);
                if (!doCols && !doRows) {
                  b.get(acc[0]![0]!).get(xk).simd(S.f32x4Add).set(acc[0]![0]!);
                  continue;
                }
                // x, x², |x| of these 4 elements: into the column registers and this row's partials
                for (let st = 0; st < 3; st++) {
                  if (st === 0) b.get(xk).set(y);
                  else if (st === 1) b.get(xk).get(xk).simd(S.f32x4Mul).set(y);
                  else b.get(xk).get(absMask).simd(S.and).set(y);
                  if (doCols) b.get(acc[st]![k]!).get(y).simd(S.f32x4Add).set(acc[st]![k]!);
                  if (doRows) {
                    if (k === 0) b.get(y).set(row[st]!);
                    else b.get(row[st]!).get(y).simd(S.f32x4Add).set(row[st]!);
                  }
                }
              }
              if (doRows) for (let st = 0; st < 3; st++) b.get(ra).get(ra).simd(S.load, ...Body.mem(4, 16 * st)).get(row[st]!).simd(S.f32x4Add).simd(S.store, ...Body.mem(4, 16 * st));
              // the next row
              for (const q of [c.p, c.p2]) b.get(q).get(PI('rowBytes')).op(0x6a).set(q);
              for (const q of [c.sa, c.sb]) b.get(q).get(scaleStep).op(0x6a).set(q);
              b.get(ra).i32(48).op(0x6a).set(ra);
            },
          );
          // fold the group's float32 column sums into the float64 ones: colOut + stat * colStride + col * 8
          load32(t, 8).i32(3).op(0x74).get(PI('colOut')).op(0x6a).set(cp);
          for (let st = 0; st < (doCols ? 3 : 1); st++) {
            for (let k = 0; k < (doCols ? 4 : 1); k++) {
              const off = spec.colOffsets[k]! * 8;
              const a = acc[st]![k]!;
              // lanes 0, 1 then lanes 2, 3
              b.get(cp).get(cp).simd(S.load, ...Body.mem(3, off)).get(a).simd(S.f64x2PromoteLow).simd(S.f64x2Add).simd(S.store, ...Body.mem(3, off));
              b.get(cp).get(cp).simd(S.load, ...Body.mem(3, off + 16)).get(a).get(a).simd(S.shuffle, ...HIGH_PAIR).simd(S.f64x2PromoteLow).simd(S.f64x2Add).simd(S.store, ...Body.mem(3, off + 16));
            }
            if (st < 2) b.get(cp).get(PI('colStride')).op(0x6a).set(cp);
          }
          if (!doRows) return;
          // every FLUSH_STRIPS strips and after the last: the rows' float32 partials into their float64 sums
          b.get(s).i32(1).op(0x6a).i32(FLUSH_STRIPS - 1).op(0x71, 0x45);
          b.get(s).i32(1).op(0x6a).get(PI('nStrips')).op(0x46, 0x72);
          b.op(0x04, 0x40); // if
          P('rowAcc').set(ra);
          b.loop(
            r,
            () => b.get(g0),
            () => b.get(gEnd),
            () => b.i32(1),
            () => {
              b.get(r).i32(48).op(0x6c).get(PI('rowOut')).op(0x6a).set(o);
              for (let st = 0; st < 3; st++) {
                b.get(ra).simd(S.load, ...Body.mem(4, 16 * st)).set(v);
                b.get(o).get(o).simd(S.load, ...Body.mem(3, 16 * st)).get(v).simd(S.f64x2PromoteLow).simd(S.f64x2Add);
                b.get(v).get(v).simd(S.shuffle, ...HIGH_PAIR).simd(S.f64x2PromoteLow).simd(S.f64x2Add).simd(S.store, ...Body.mem(3, 16 * st));
                b.get(ra);
                zero();
                b.simd(S.store, ...Body.mem(4, 16 * st));
              }
              b.get(ra).i32(48).op(0x6a).set(ra);
            },
          );
          b.op(0x0b); // end if
        },
      );
    },
  );
  return b.encode();
}

const u32x4 = (v: number) => new Array(4).fill(0).flatMap(() => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
const u16x8 = (v: number) => new Array(8).fill(0).flatMap(() => [v & 0xff, v >> 8]);

const splatAt = (b: Body, base: number, off: number) => b.get(base).simd(S.load32splat, ...Body.mem(2, off));

/** Q8_0 strip: 16 int8 quants of one block, one scale d: x = d·q. */
const Q8_0_KERNEL: KernelSpec = {
  name: 'q8_0',
  colOffsets: [0, 4, 8, 12],
  consts: [],
  prepare(b, c) {
    const w = b.local(V128), lo = b.local(V128), hi = b.local(V128), d = b.local(V128);
    b.get(c.p).simd(S.load, ...Body.mem(0)).set(w);
    b.get(w).simd(S.i16x8ExtLowS).set(lo);
    b.get(w).simd(S.i16x8ExtHighS).set(hi);
    splatAt(b, c.sa, 0).set(d);
    const halves = [lo, lo, hi, hi];
    return (k) => void b.get(halves[k]!).simd(k % 2 ? S.i32x4ExtHighS : S.i32x4ExtLowS).simd(S.f32x4ConvertS).get(d).simd(S.f32x4Mul);
  },
};

/**
 * Q4_K strip: 8 bytes of one 32-byte group: low nibbles are 8 elements of sub-block 2g, high
 * nibbles the same 8 positions of sub-block 2g + 1 (32 columns on): x = a·q − b per sub-block.
 */
const Q4_K_KERNEL: KernelSpec = {
  name: 'q4_k',
  colOffsets: [0, 4, 32, 36],
  consts: [u16x8(15)],
  prepare(b, c) {
    const w = b.local(V128), lo = b.local(V128), hi = b.local(V128);
    b.get(c.p).simd(S.load8x8u, ...Body.mem(0)).set(w);
    b.get(w).get(c.consts[0]!).simd(S.and).set(lo);
    b.get(w).i32(4).simd(S.i16x8ShrU).set(hi);
    const src = [lo, lo, hi, hi];
    // values 0..15: the signed conversions are exact and the fastest on x86
    return (k) => {
      b.get(src[k]!).simd(k % 2 ? S.i32x4ExtHighU : S.i32x4ExtLowU).simd(S.f32x4ConvertS);
      splatAt(b, c.sa, k < 2 ? 0 : 4).simd(S.f32x4Mul);
      splatAt(b, c.sb, k < 2 ? 0 : 4).simd(S.f32x4Sub);
    };
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
  consts: [u16x8(15), u16x8(3), u16x8(32)],
  prepare(b, c) {
    const [c15, c3, c32] = c.consts as [number, number, number];
    const wl0 = b.local(V128), wl1 = b.local(V128), wh = b.local(V128), qa = b.local(V128), qb = b.local(V128);
    b.get(c.p).simd(S.load8x8u, ...Body.mem(0)).set(wl0);
    b.get(c.p).simd(S.load8x8u, ...Body.mem(0, 32)).set(wl1);
    b.get(c.p2).simd(S.load8x8u, ...Body.mem(0)).set(wh);
    const quant = (w: number, hiShift: () => void, out: number) => {
      b.get(w).get(c.sh).simd(S.i16x8ShrU).get(c15).simd(S.and);
      b.get(wh);
      hiShift();
      b.simd(S.i16x8ShrU).get(c3).simd(S.and).i32(4).simd(S.i16x8Shl).simd(S.or);
      b.get(c32).simd(S.i16x8Sub).set(out);
    };
    quant(wl0, () => b.get(c.sh), qa);
    quant(wl1, () => b.get(c.sh).i32(2).op(0x6a), qb);
    const src = [qa, qa, qb, qb];
    return (k) => {
      b.get(src[k]!).simd(k % 2 ? S.i32x4ExtHighS : S.i32x4ExtLowS).simd(S.f32x4ConvertS);
      splatAt(b, c.sa, k < 2 ? 0 : 8).simd(S.f32x4Mul);
    };
  },
};

export const SIMD_KERNELS = [Q8_0_KERNEL, Q4_K_KERNEL, Q6_K_KERNEL] as const;
export type KernelName = (typeof SIMD_KERNELS)[number]['name'];

// --- the per-block scales, decoded in WebAssembly too (scalar code: a few per 32 or 256 weights) ---

/** Parameters of the scale decoders: `blocks` consecutive blocks at src, float32 out at A (and B), the f16 table. */
const SCALE_PARAMS = ['src', 'blocks', 'A', 'B', 'half'] as const;
type ScaleParam = (typeof SCALE_PARAMS)[number];

interface ScaleSpec {
  name: `${KernelName}_scales`;
  blockBytes: number;
  /** float32 written per block at A (and at B) */
  perBlock: number;
  /** the body for one block at local o; writes at locals a, bq */
  block(b: Body, o: number, a: number, bq: number, half: () => void): void;
}

const F32 = { load: 0x2a, store: 0x38, mul: 0x94, fromI32: 0xb2 } as const;
const I = { load8u: 0x2d, load8s: 0x2c, load16u: 0x2f, and: 0x71, or: 0x72, shl: 0x74, shrU: 0x76, add: 0x6a } as const;

/** pushes the f32 value of the half at byte `off` of local o */
function halfAt(b: Body, o: number, off: number, half: () => void): void {
  b.get(o).op(I.load16u, ...Body.mem(1, off)).i32(2).op(I.shl);
  half();
  b.op(I.add, F32.load, ...Body.mem(2, 0));
}

/** ggml's get_scale_min_k4 times d (or dmin), as float32: the same products as ggml's dequantization */
const SCALE_SPECS: readonly ScaleSpec[] = [
  {
    name: 'q8_0_scales',
    blockBytes: 34,
    perBlock: 1,
    block(b, o, a, _bq, half) {
      b.get(a);
      halfAt(b, o, 0, half);
      b.op(F32.store, ...Body.mem(2, 0));
    },
  },
  {
    name: 'q4_k_scales',
    blockBytes: 144,
    perBlock: 8,
    block(b, o, a, bq, half) {
      const d = b.local(0x7d), m = b.local(0x7d);
      halfAt(b, o, 0, half);
      b.set(d);
      halfAt(b, o, 2, half);
      b.set(m);
      const byte = (off: number) => b.get(o).op(I.load8u, ...Body.mem(0, off));
      const put = (base: number, j: number, f: number, value: () => void) => {
        b.get(base);
        value();
        b.op(F32.fromI32).get(f).op(F32.mul, F32.store, ...Body.mem(2, 4 * j));
      };
      for (let j = 0; j < 4; j++) {
        // lo = byte 4 + j, mid = byte 8 + j, hi = byte 12 + j
        put(a, j, d, () => byte(4 + j).i32(63).op(I.and));
        put(bq, j, m, () => byte(8 + j).i32(63).op(I.and));
        put(a, j + 4, d, () => byte(12 + j).i32(15).op(I.and).get(o).op(I.load8u, ...Body.mem(0, 4 + j)).i32(6).op(I.shrU).i32(4).op(I.shl).op(I.or));
        put(bq, j + 4, m, () => byte(12 + j).i32(4).op(I.shrU).get(o).op(I.load8u, ...Body.mem(0, 8 + j)).i32(6).op(I.shrU).i32(4).op(I.shl).op(I.or));
      }
    },
  },
  {
    name: 'q6_k_scales',
    blockBytes: 210,
    perBlock: 16,
    block(b, o, a, _bq, half) {
      const d = b.local(0x7d);
      halfAt(b, o, 208, half);
      b.set(d);
      for (let k = 0; k < 16; k++) b.get(a).get(o).op(I.load8s, ...Body.mem(0, 192 + k)).op(F32.fromI32).get(d).op(F32.mul, F32.store, ...Body.mem(2, 4 * k));
    },
  },
];

function scaleDecoder(spec: ScaleSpec): number[] {
  const b = new Body(SCALE_PARAMS.length);
  const P = (n: ScaleParam) => SCALE_PARAMS.indexOf(n);
  const i = b.local(I32), o = b.local(I32), a = b.local(I32), bq = b.local(I32);
  b.get(P('src')).set(o).get(P('A')).set(a).get(P('B')).set(bq);
  b.loop(
    i,
    () => b.i32(0),
    () => b.get(P('blocks')),
    () => b.i32(1),
    () => {
      spec.block(b, o, a, bq, () => b.get(P('half')));
      b.get(o).i32(spec.blockBytes).op(I.add).set(o);
      b.get(a).i32(4 * spec.perBlock).op(I.add).set(a);
      b.get(bq).i32(4 * spec.perBlock).op(I.add).set(bq);
    },
  );
  return b.encode();
}

/** The module's bytes: one memory imported as env.memory, one exported function per kernel and per scale decoder. */
export function simdModuleBytes(parts: KernelParts = 'all'): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
  const funcType = (n: number) => [0x60, ...uleb(n), ...new Array(n).fill(I32), 0];
  const names = [...SIMD_KERNELS.map((k) => k.name), ...SCALE_SPECS.map((k) => k.name)];
  const bodies = [...SIMD_KERNELS.map((k) => kernel(k, parts)), ...SCALE_SPECS.map((k) => scaleDecoder(k))];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, ...funcType(PARAMS.length), ...funcType(SCALE_PARAMS.length)]),
    ...section(2, [1, ...str('env'), ...str('memory'), 0x02, 0x00, 1]), // memory, min 1 page
    ...section(3, [...uleb(names.length), ...SIMD_KERNELS.map(() => 0), ...SCALE_SPECS.map(() => 1)]),
    ...section(7, [...uleb(names.length), ...names.flatMap((n, i) => [...str(n), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(names.length), ...bodies.flat()]),
  ];
  return new Uint8Array(bytes);
}
