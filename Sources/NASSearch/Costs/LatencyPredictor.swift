import Foundation
import NASModels
import NASTensor

/// A learned latency model: a small multi-layer perceptron that predicts the measured latency of an
/// architecture (from `LatencyMeter`) out of analytic features of it, so that a search can price
/// thousands of candidates without running them (as HAT, Wang et al. 2020, does).
///
/// Model, with z the standardised features `(features(arch) − featureMean) / featureStd`:
///
///     u = W_L·relu(… relu(W_1·z + b_1) …) + b_L  +  w_skip·z        (hidden layers of ReLU units)
///     predict(arch) = exp(targetMean + targetStd · u)                  (milliseconds)
///
/// so the network fits the standardised log-latency; the linear skip term carries the power law
/// (latency ∝ FLOPs^α …) and the hidden layers learn the correction to it. It is trained by full-batch
/// AdamW with the project's autodiff on the mean squared error of u, with a cosine-decayed learning
/// rate, on one engine thread: the same samples and seed give bit-identical weights.
///
/// The predictor is Codable (JSON) and predicts for the sequence length it was trained at; the batch
/// size and thread count are those of the measured samples.
public struct LatencyPredictor: Codable, Equatable, Sendable {
    /// One fully connected layer y = x·W + b, with W stored row-major as [inputs, outputs].
    public struct Dense: Codable, Equatable, Sendable {
        public var inputs: Int
        public var outputs: Int
        public var weight: [Float]
        public var bias: [Float]

        /// y = x·W + b for one input vector, in Double.
        func apply(_ x: [Double]) -> [Double] {
            precondition(x.count == inputs, "LatencyPredictor.Dense: \(x.count) inputs, expected \(inputs)")
            var y = bias.map(Double.init)
            for i in 0..<inputs where x[i] != 0 {
                let xi = x[i], row = i * outputs
                for o in 0..<outputs { y[o] += xi * Double(weight[row + o]) }
            }
            return y
        }
    }

    /// The sequence length the features (and the measured samples) refer to.
    public var sequenceLength: Int
    /// Per feature: mean and standard deviation over the training samples (std 1 for a constant feature).
    public var featureMean: [Double]
    public var featureStd: [Double]
    /// Mean and standard deviation of log(latency ms) over the training samples.
    public var targetMean: Double
    public var targetStd: Double
    /// The hidden layers (ReLU after each) and the output layer (one output, no activation).
    public var layers: [Dense]
    /// The linear term from the standardised features straight to the output.
    public var skip: Dense

    // MARK: - Features

    /// The names of `features(_:sequenceLength:)`, in order.
    public static let featureNames = [
        "depth", "log1p(mean layer width)", "log1p(embedding width)",
        "log1p(mixer projection FLOPs)", "log1p(token-mixing FLOPs)", "log1p(FFN FLOPs)", "log1p(other projection FLOPs)",
        "log1p(total FLOPs)", "log1p(params)", "log1p(non-embedding params)",
        "log1p(Σ heads)", "log1p(Σ softmax elements)", "log1p(Σ FFN activations)",
        "bottleneck layers", "non-SDP layers", "FFN dense layers",
    ]

    /// Space-agnostic features of `arch` at T = `sequenceLength` tokens, in the order of `featureNames`.
    /// Sizes that vary by orders of magnitude enter as log1p(x) = ln(1 + x). With, per layer, w its
    /// width, h = its bottleneck or w, q its qkv, d = q / heads, k a conv kernel, f_j its FFN widths:
    ///
    /// - depth: the number of layers L.
    /// - mean layer width: (1/L)·Σ w.
    /// - embedding width E (the factorised width, or H).
    /// - mixer projection FLOPs: the learned linear maps of the token mixers, Σ over layers of
    ///   SDP 2T·h·3q + 2T·q·h; WMA the same + 2T·heads·d²; dynamic conv 2T·h·3q + 2T·q·heads·k + 2T·q·h;
    ///   DFT and DCT 0.
    /// - token-mixing FLOPs: the products across positions, Σ of SDP and WMA 4T²·q (scores and
    ///   context); DFT 4T²·h + 4T·h²; DCT 2T²·h + 2T·h²; dynamic conv 2T·k·q.
    /// - FFN FLOPs: Σ 2T·(h·f_1 + f_1·f_2 + … + f_last·h).
    /// - other projection FLOPs: embedding projection 2T·E·H, inter-layer projections 2T·w_prev·w,
    ///   bottleneck projections 4T·w·b. These four FLOP features add up to `arch.flops(sequenceLength:)`.
    /// - total FLOPs `arch.flops(sequenceLength:)`.
    /// - params `arch.parameterCount` and non-embedding params `arch.nonEmbeddingParameterCount`.
    /// - Σ heads over attention (SDP, WMA, dynamic conv) layers: the count of per-head products.
    /// - Σ softmax elements: heads·T² per SDP/WMA layer (the attention probabilities, elementwise work).
    /// - Σ FFN activations: T·Σ_j f_j per layer (the activation function's elementwise work).
    /// - bottleneck layers, non-SDP layers, FFN dense layers (Σ over layers of the count of f_j): counts.
    public static func features(_ arch: Architecture, sequenceLength t: Int) -> [Double] {
        var projection = 0.0, mixing = 0.0, ffn = 0.0, other = 0.0
        var heads = 0.0, softmax = 0.0, activations = 0.0, widths = 0.0
        var bottlenecks = 0.0, nonSDP = 0.0, dense = 0.0
        let T = Double(t)
        if arch.embeddingWidth != arch.hidden { other += 2 * T * Double(arch.embeddingWidth * arch.hidden) }
        var previous = Double(arch.hidden)
        for (i, l) in arch.layers.enumerated() {
            let w = Double(arch.width(ofLayer: i)), q = Double(l.qkv), nh = Double(l.heads), d = Double(l.headSize)
            widths += w
            if arch.hasInputProjection(i) { other += 2 * T * previous * w }
            previous = w
            if let b = l.bottleneck { other += 4 * T * w * Double(b); bottlenecks += 1 }
            let h = Double(l.bottleneck ?? arch.width(ofLayer: i))
            switch l.operation {
            case .sdp, .wma:
                projection += 2 * T * h * 3 * q + 2 * T * q * h + (l.operation == .wma ? 2 * T * nh * d * d : 0)
                mixing += 4 * T * T * q
                heads += nh
                softmax += nh * T * T
            case .dft:
                mixing += 4 * T * T * h + 4 * T * h * h
            case .dct:
                mixing += 2 * T * T * h + 2 * T * h * h
            case .dynamicConv(let k):
                projection += 2 * T * h * 3 * q + 2 * T * q * nh * Double(k) + 2 * T * q * h
                mixing += 2 * T * Double(k) * q
                heads += nh
            }
            if l.operation != .sdp { nonSDP += 1 }
            var input = h
            for f in l.ffnWidths.map(Double.init) {
                ffn += 2 * T * input * f
                input = f
                activations += T * f
                dense += 1
            }
            ffn += 2 * T * input * h
        }
        let meanWidth = arch.layers.isEmpty ? Double(arch.hidden) : widths / Double(arch.depth)
        return [
            Double(arch.depth), log1p(meanWidth), log1p(Double(arch.embeddingWidth)),
            log1p(projection), log1p(mixing), log1p(ffn), log1p(other),
            log1p(Double(arch.flops(sequenceLength: t))), log1p(Double(arch.parameterCount)),
            log1p(Double(arch.nonEmbeddingParameterCount)),
            log1p(heads), log1p(softmax), log1p(activations),
            bottlenecks, nonSDP, dense,
        ]
    }

    // MARK: - Prediction

    /// The standardised log-latency u of `arch` (the network's output).
    func output(_ arch: Architecture) -> Double {
        let raw = LatencyPredictor.features(arch, sequenceLength: sequenceLength)
        let z = (0..<raw.count).map { (raw[$0] - featureMean[$0]) / featureStd[$0] }
        var x = z
        for (i, layer) in layers.enumerated() {
            x = layer.apply(x)
            if i < layers.count - 1 { x = x.map { Swift.max($0, 0) } }
        }
        return x[0] + skip.apply(z)[0]
    }

    /// The predicted latency of `arch`, in milliseconds: exp(targetMean + targetStd · u).
    public func predict(_ arch: Architecture) -> Double {
        Foundation.exp(targetMean + targetStd * output(arch))
    }

    // MARK: - Training

    /// Fits a predictor to `samples` (architecture, measured latency in ms) at `sequenceLength` tokens.
    ///
    /// Features and log-latencies are standardised over the samples; weights start from He-normal
    /// draws of `seed` (biases and the skip term at 0); then `steps` full-batch AdamW steps minimise the
    /// mean squared error of the standardised log-latency, with learning rate
    /// `learningRate · ½(1 + cos(π·step/steps))` and decoupled weight decay `weightDecay` on the
    /// weight matrices. Runs on one engine thread (restored afterwards), so it is deterministic.
    ///
    /// The defaults (two layers of 32 ReLU units, learning rate 1e-2, weight decay 0.1, 2000 steps) were
    /// chosen on ~60 measured architectures of the AutoTinyBERT space: with so few samples a weaker
    /// decay (1e-3) interpolates the timing noise and generalises worse.
    public static func train(samples: [(Architecture, Double)], sequenceLength: Int, seed: UInt64, steps: Int = 2000,
                             hidden: [Int] = [32, 32], learningRate: Float = 1e-2,
                             weightDecay: Float = 0.1) -> LatencyPredictor {
        precondition(samples.count >= 2, "LatencyPredictor.train: needs at least 2 samples, got \(samples.count)")
        precondition(samples.allSatisfy { $0.1 > 0 && $0.1.isFinite }, "LatencyPredictor.train: latencies must be positive and finite")
        precondition(steps >= 0 && hidden.allSatisfy { $0 > 0 }, "LatencyPredictor.train: bad steps \(steps) or hidden \(hidden)")

        let raw = samples.map { features($0.0, sequenceLength: sequenceLength) }
        let n = raw.count, nf = raw[0].count
        let (featureMean, featureStd) = standardisation(columnsOf: raw)
        let logs = samples.map { Foundation.log($0.1) }
        let (targetMean, targetStdRaw) = meanAndStd(logs)
        let targetStd = targetStdRaw > 1e-12 ? targetStdRaw : 1

        let savedThreads = Engine.threads
        Engine.threads = 1
        defer { Engine.threads = savedThreads }

        var x = [Float](), y = [Float]()
        for (r, l) in zip(raw, logs) {
            x += (0..<nf).map { Float((r[$0] - featureMean[$0]) / featureStd[$0]) }
            y.append(Float((l - targetMean) / targetStd))
        }
        let input = Tensor(shape: [n, nf], scalars: x), target = Tensor(shape: [n, 1], scalars: y)

        var rng = RandomGenerator(seed: seed)
        let sizes = [nf] + hidden + [1]
        var weights: [Parameter] = [], biases: [Parameter] = []
        for i in 0..<(sizes.count - 1) {
            let std = Float((2.0 / Double(sizes[i])).squareRoot())
            weights.append(Parameter(Tensor.randomNormal([sizes[i], sizes[i + 1]], std: std, using: &rng),
                                     name: "latency.layers.\(i).weight"))
            biases.append(Parameter(Tensor(zeros: [sizes[i + 1]]), name: "latency.layers.\(i).bias"))
        }
        let skipWeight = Parameter(Tensor(zeros: [nf, 1]), name: "latency.skip.weight")
        let skipBias = Parameter(Tensor(zeros: [1]), name: "latency.skip.bias")

        func forward(_ x: Tensor) -> Tensor {
            var h = x
            for i in weights.indices {
                h = h.matmul(weights[i].tensor, bias: biases[i].tensor)
                if i < weights.count - 1 { h = h.relu() }
            }
            return h + x.matmul(skipWeight.tensor, bias: skipBias.tensor)
        }

        let optimizer = AdamW(parameters: weights + biases + [skipWeight, skipBias], learningRate: learningRate,
                              weightDecay: weightDecay)
        for step in 0..<steps {
            optimizer.learningRate = learningRate * Float(0.5 * (1 + cos(Double.pi * Double(step) / Double(steps))))
            optimizer.zeroGrad()
            Autograd.withGrad {
                let loss = (forward(input) - target).square().mean()
                loss.backward()
            }
            optimizer.step()
        }

        func dense(_ w: Parameter, _ b: Parameter) -> Dense {
            Dense(inputs: w.shape[0], outputs: w.shape[1], weight: w.value.scalars, bias: b.value.scalars)
        }
        return LatencyPredictor(sequenceLength: sequenceLength, featureMean: featureMean, featureStd: featureStd,
                                targetMean: targetMean, targetStd: targetStd,
                                layers: zip(weights, biases).map { dense($0, $1) }, skip: dense(skipWeight, skipBias))
    }

    // MARK: - Evaluation

    /// Mean relative error of `predictor` on `heldOut` (architecture, measured ms): (1/n)·Σ |pred − true| / true,
    /// as a fraction (0.1 = 10 %).
    public static func meanRelativeError(_ predictor: LatencyPredictor, heldOut: [(Architecture, Double)]) -> Double {
        meanRelativeError(heldOut: heldOut, predictor.predict)
    }

    /// Mean relative error (1/n)·Σ |predict(arch) − true| / true of any latency model on `heldOut`.
    public static func meanRelativeError(heldOut: [(Architecture, Double)], _ predict: (Architecture) -> Double) -> Double {
        precondition(!heldOut.isEmpty, "LatencyPredictor.meanRelativeError: no held-out samples")
        return heldOut.reduce(0) { $0 + Swift.abs(predict($1.0) - $1.1) / $1.1 } / Double(heldOut.count)
    }

    // MARK: - Statistics

    static func meanAndStd(_ xs: [Double]) -> (mean: Double, std: Double) {
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)
        return (mean, variance.squareRoot())
    }

    /// Per column of `rows`: the mean and the population standard deviation (1 where it is ~0).
    static func standardisation(columnsOf rows: [[Double]]) -> (mean: [Double], std: [Double]) {
        let columns = (0..<rows[0].count).map { c in meanAndStd(rows.map { $0[c] }) }
        return (columns.map(\.mean), columns.map { $0.std > 1e-12 ? $0.std : 1 })
    }
}
