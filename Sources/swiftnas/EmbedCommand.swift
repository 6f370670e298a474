import ArgumentParser
import Foundation
import NASModels
import NASText

/// `swiftnas embed --checkpoint DIR [--max-length N] [--json] "text" …`: Sentence-BERT embeddings
/// (mean of the last hidden states over real tokens, L2-normalised) and their cosine similarities.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed sentences with a checkpoint (mean pooling, L2-normalised) and compare them.",
        discussion: """
        The checkpoint folder needs config.json, model.safetensors and vocab.txt (WordPiece). All texts \
        are encoded as one padded batch; with two or more, the cosine-similarity matrix follows. \
        With no texts on the command line, they are read from standard input, one per line.
        """)

    @Option(help: ArgumentHelp("A model folder (config.json, model.safetensors, vocab.txt).", valueName: "dir"))
    var checkpoint: String

    @Option(parsing: .unconditional, help: "Longest encoding in tokens, [CLS] and [SEP] included (longer texts are truncated).",
            transform: NumberArgument.positive)
    var maxLength: Int = 128

    @Flag(help: "Print JSON (full vectors) instead of a table.")
    var json = false

    @Argument(help: "Texts to embed (default: one per line from standard input).")
    var texts: [String] = []

    @OptionGroup var engine: EngineOptions

    mutating func validate() throws {
        if maxLength < 2 { throw ValidationError("--max-length must be at least 2 ([CLS] and [SEP]), got \(maxLength)") }
    }

    func run() throws {
        engine.apply()
        let (model, _, _, dir) = try CheckpointFolder.load(checkpoint)
        let arch = model.maxArchitecture
        let vocabURL = dir.appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: vocabURL.path) else {
            throw CommandError("\(vocabURL.path): file not found, expected the checkpoint's WordPiece vocabulary")
        }
        let tokenizer = try WordPieceTokenizer(vocabularyURL: vocabURL)
        guard tokenizer.vocabSize == arch.vocabSize else {
            throw CommandError("\(vocabURL.path): \(tokenizer.vocabSize) tokens, but the model's vocabulary "
                               + "(config.json vocab_size) has \(arch.vocabSize), expected them to match")
        }
        guard maxLength <= arch.maxPositions else {
            throw CommandError("--max-length \(maxLength) exceeds the model's \(arch.maxPositions) positions")
        }

        var texts = self.texts
        if texts.isEmpty {
            while let line = readLine() {
                if !line.trimmingCharacters(in: .whitespaces).isEmpty { texts.append(line) }
            }
        }
        guard !texts.isEmpty else {
            throw CommandError("no texts to embed: give them as arguments or one per line on standard input")
        }

        let batch = try tokenizer.encodeBatch(texts, maxLength: maxLength)
        let mask = batch.attentionMask.map(Float.init)
        let input = TokenBatch(ids: batch.ids, typeIds: batch.tokenTypeIds, attentionMask: mask,
                               batchSize: batch.batchSize, length: batch.sequenceLength)
        let hidden = model(input).hidden
        let embeddings = SentenceEmbedding.meanPooled(hidden, attentionMask: mask)
        let norms = SentenceEmbedding.meanPooled(hidden, attentionMask: mask, normalize: false).map {
            Float($0.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        }
        let t = batch.sequenceLength
        let tokenCounts = (0..<texts.count).map { i in batch.attentionMask[i * t..<(i + 1) * t].reduce(0) { $0 + Int($1) } }
        let truncated = texts.map { tokenizer.encode($0).count + 2 > maxLength }
        func cosine(_ a: [Float], _ b: [Float]) -> Float {
            Float(zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) })
        }
        let similarity = texts.count >= 2
            ? embeddings.map { a in embeddings.map { b in cosine(a, b) } } : nil

        if json {
            var o: [String: JSONValue] = [
                "checkpoint": .string(checkpoint),
                "dimensions": .int(embeddings.first?.count ?? 0),
                "maxLength": .int(maxLength),
                "texts": .array(texts.indices.map { i in
                    .object(["text": .string(texts[i]), "tokens": .int(tokenCounts[i]), "truncated": .bool(truncated[i]),
                             "meanNorm": Format.json(norms[i]),
                             "embedding": .array(embeddings[i].map(Format.json))])
                }),
            ]
            if let similarity { o["cosineSimilarity"] = .array(similarity.map { .array($0.map(Format.json)) }) }
            print(try JSONValue.object(o).serialized(pretty: true))
            return
        }

        let dims = embeddings.first?.count ?? 0
        print("checkpoint \(checkpoint): \(arch.family.rawValue), \(arch.depth) layers, hidden \(arch.hidden); "
              + "\(texts.count) text\(texts.count == 1 ? "" : "s"), padded to \(t) tokens")
        let shown = min(8, dims)
        let valuesWidth = max(shown * 8 - 1 + (dims > shown ? 2 : 0), 0)
        let title = "embedding (L2-normalised, first \(shown) of \(dims) dims)"
        print("   #  tokens  |mean|  " + title.padding(toLength: max(valuesWidth, title.count), withPad: " ", startingAt: 0)
              + "  text")
        for i in texts.indices {
            let values = embeddings[i].prefix(shown).map { String(format: "%+.4f", $0) }.joined(separator: " ")
            let count = "\(tokenCounts[i])" + (truncated[i] ? "*" : "")
            let text = texts[i].count > 60 ? String(texts[i].prefix(57)) + "..." : texts[i]
            let vector = (values + (dims > shown ? " …" : "")).padding(toLength: max(valuesWidth, title.count),
                                                                         withPad: " ", startingAt: 0)
            print(pad(i, 4) + pad(count, 8) + String(format: "%8.4f", norms[i]) + "  " + vector + "  " + text)
        }
        if truncated.contains(true) { print("   * truncated to --max-length \(maxLength)") }
        if let similarity {
            print("\ncosine similarity")
            print(String(repeating: " ", count: 4) + texts.indices.map { pad($0, 9) }.joined())
            for (i, row) in similarity.enumerated() {
                print(pad(i, 4) + row.map { String(format: "%9.4f", $0) }.joined())
            }
        }
    }

    private func pad(_ value: CustomStringConvertible, _ width: Int) -> String {
        let s = value.description
        return String(repeating: " ", count: max(0, width - s.count)) + s
    }
}
