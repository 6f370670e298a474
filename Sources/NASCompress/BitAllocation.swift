/// Bit allocation under a size budget (a multiple-choice knapsack): the configuration b maximising an additive score
/// Σ_u g_u(b_u) subject to Σ_u b_u·n_u ≤ B·Σ_u n_u (B the budget in bits per weight). Every proxy here is additive
/// over units (EMQ's Σ_u b_u·s_u, HAWQ-V2's −Σ_u Tr(H_u)/n_u·‖Q_{b_u}(W_u) − W_u‖²), so dynamic programming over the
/// used size finds the exact optimum — no search can do better on the proxy. Sizes are counted in multiples of the
/// greatest common divisor of the n_u (36 units of MiniLM-L6: 1 or 4 multiples of 147,456 weights).
public enum BitAllocation {
    /// The best configuration, or nil when even the narrowest choice of every unit exceeds the budget.
    public static func best(sizes: [Int], choices: [Int], bitsPerWeight budget: Double, gain: (Int, Int) -> Double) -> [Int]? {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let unit = sizes.reduce(0, gcd)
        guard unit > 0 else { return nil }
        let w = sizes.map { $0 / unit }
        let capacity = Int((budget * Double(w.reduce(0, +))).rounded(.down) + 1e-9)
        // value[c] = best score with used size exactly c; choice[u][c] = the bits of unit u on that path.
        var value = [Double](repeating: -.infinity, count: capacity + 1)
        value[0] = 0
        var choice: [[Int]] = []
        for u in sizes.indices {
            var next = [Double](repeating: -.infinity, count: capacity + 1), pick = [Int](repeating: -1, count: capacity + 1)
            for c in 0...capacity where value[c] > -.infinity {
                for b in choices {
                    let used = c + b * w[u]
                    guard used <= capacity else { continue }
                    let v = value[c] + gain(u, b)
                    if v > next[used] { (next[used], pick[used]) = (v, b) }
                }
            }
            value = next
            choice.append(pick)
        }
        guard var c = value.indices.filter({ value[$0] > -.infinity }).max(by: { value[$0] < value[$1] }) else { return nil }
        var bits = [Int](repeating: 0, count: sizes.count)
        for u in sizes.indices.reversed() {
            bits[u] = choice[u][c]
            c -= bits[u] * w[u]
        }
        return bits
    }
}
