import Foundation
import NASTensor

/// The constant transform matrices of the linear-transform mixers, built once per size and shared
/// (read-only, no graph) by every layer and thread.
enum SpectralMatrices {
    nonisolated(unsafe) private static var fourier: [Int: (cos: Tensor, sin: Tensor)] = [:]
    nonisolated(unsafe) private static var cosine: [Int: Tensor] = [:]
    private static let lock = NSLock()

    /// C[j, k] = cos(2πjk/N), S[j, k] = sin(2πjk/N), both [N, N] (symmetric).
    static func dft(_ n: Int) -> (cos: Tensor, sin: Tensor) {
        lock.lock(); defer { lock.unlock() }
        if let m = fourier[n] { return m }
        var c = [Float](repeating: 0, count: n * n), s = c
        for j in 0..<n {
            for k in 0..<n {
                // The phase reduced mod N in integers keeps large sizes exact.
                let angle = 2 * Double.pi * Double((j * k) % n) / Double(n)
                c[j * n + k] = Float(Foundation.cos(angle)); s[j * n + k] = Float(Foundation.sin(angle))
            }
        }
        let m = (Tensor(shape: [n, n], scalars: c), Tensor(shape: [n, n], scalars: s))
        fourier[n] = m
        return m
    }

    /// The orthonormal DCT-II matrix D[k, n] = s_k·cos(π(n + ½)k/N), s_0 = √(1/N), s_k = √(2/N), [N, N].
    static func dct(_ n: Int) -> Tensor {
        lock.lock(); defer { lock.unlock() }
        if let m = cosine[n] { return m }
        var d = [Float](repeating: 0, count: n * n)
        for k in 0..<n {
            let scale = k == 0 ? (1 / Double(n)).squareRoot() : (2 / Double(n)).squareRoot()
            for i in 0..<n { d[k * n + i] = Float(scale * Foundation.cos(Double.pi * (Double(i) + 0.5) * Double(k) / Double(n))) }
        }
        let m = Tensor(shape: [n, n], scalars: d)
        cosine[n] = m
        return m
    }
}
