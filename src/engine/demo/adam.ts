// Adam steps for the builder's small cross-entropy refinements (full batch, float64, deterministic).

export class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(
    readonly size: number,
    private readonly lr: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** params -= lr * m̂ / (sqrt(v̂) + eps), for the first `size` entries. */
  step(params: Float64Array, grad: Float64Array): void {
    this.t++;
    const { m, v, beta1: b1, beta2: b2 } = this;
    const c1 = 1 / (1 - b1 ** this.t);
    const c2 = 1 / (1 - b2 ** this.t);
    const lr = this.lr;
    for (let i = 0; i < this.size; i++) {
      const g = grad[i]!;
      const mi = (m[i] = b1 * m[i]! + (1 - b1) * g);
      const vi = (v[i] = b2 * v[i]! + (1 - b2) * g * g);
      params[i] = params[i]! - (lr * mi * c1) / (Math.sqrt(vi * c2) + 1e-8);
    }
  }
}
