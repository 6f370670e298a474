import NASTensor

/// The arithmetic of a model's Linear layers, set on the whole tree at once.
/// - Training: `fp32`, or `bf16` mixed precision (`Linear.Arithmetic.bf16`: bf16 GEMM operands, fp32
///   accumulation, fp32 master weights and optimizer state; softmax, LayerNorm, losses and reductions stay fp32).
/// - Inference of a standalone model: `bf16Weights` or `int8Weights` store every Linear's weight once in
///   that form (`quantize`).
public enum Precision: String, Codable, Sendable, CaseIterable {
    case fp32, bf16
}

/// How the weights of a quantized model are stored.
public enum WeightQuantization: String, Codable, Sendable, CaseIterable {
    /// bf16 (round to nearest even).
    case bf16
    /// int8, symmetric per output channel; activations uint8 with a dynamic per-tensor zero point.
    case int8
}

extension Module {
    /// Every Linear, every Embedding's tied output projection and attention's two batched products train
    /// (and run) in `precision`.
    public func use(_ precision: Precision) {
        updateLinears { $0.arithmetic = precision == .bf16 ? .bf16 : .exact }
        for entry in modules() {
            (entry.module as? Embedding)?.outputPrecision = precision
            (entry.module as? MultiHeadAttention)?.products = precision
        }
    }

    /// Every Linear stores its whole weight as `format` for inference (a standalone model: each Linear
    /// then runs at its full size), and attention's products run in bf16 (they have no weights to store;
    /// fp32 where the CPU lacks AVX512_BF16). Returns how many layers it quantized.
    @discardableResult
    public func quantize(_ format: WeightQuantization) -> Int {
        useBF16AttentionProducts()
        return updateLinears { linear in
            let w = linear.weight.value
            switch format {
            case .bf16: linear.arithmetic = .bf16Weights(BF16Matrix(rounding: w))
            case .int8: linear.arithmetic = .int8(Int8Weights(quantizing: w))
            }
        }
    }

    /// Attention's q·kᵀ and A·v in bf16 where the CPU has AVX512_BF16: how a model with stored
    /// low-precision weights runs (`quantize`, `QuantizedCheckpoint`).
    public func useBF16AttentionProducts() {
        guard LowPrecision.isAvailable(.bf16) else { return }
        for entry in modules() { (entry.module as? MultiHeadAttention)?.products = .bf16 }
    }
}
