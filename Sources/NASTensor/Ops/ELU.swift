import Foundation

extension Tensor {
    /// Exponential linear unit (Clevert, Unterthiner & Hochreiter, ICLR 2016):
    ///     ELU(x) = x for x > 0,  α·(eˣ − 1) otherwise;   ELU′(x) = 1 for x > 0,  α·eˣ otherwise.
    /// ELU(x) + 1 (α = 1) maps the reals onto positive numbers, e.g. DrNAS's Dirichlet concentrations.
    public func elu(alpha: Float = 1) -> Tensor {
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        var out = Tensor(uninitializedShape: shape)
        let px = x.basePointer, py = out.storage.pointer
        Engine.parallelFor(count, costPerItem: 8) { r in
            for i in r { py[i] = px[i] > 0 ? px[i] : alpha * Foundation.expm1(px[i]) }
        }
        if let parents = Autograd.parents(self) {
            out.node = Node(parents, op: "elu") { g, _ in
                let gc = g.contiguous()
                defer { withExtendedLifetime(gc) {} }
                let dx = Tensor(uninitializedShape: gc.shape)
                let px = x.basePointer, pg = gc.basePointer, pd = dx.storage.pointer
                Engine.parallelFor(dx.count, costPerItem: 8) { r in
                    for i in r { pd[i] = px[i] > 0 ? pg[i] : pg[i] * alpha * Foundation.exp(px[i]) }
                }
                return [dx]
            }
        }
        return out
    }
}
